package io.replicode.replica.guests;

import static io.replicode.replica.guests.ImageHttp.get;
import static io.replicode.replica.guests.ImageHttp.parse;
import static io.replicode.replica.guests.ImageHttp.parseAll;
import static io.replicode.replica.guests.ImageHttp.put;
import static io.replicode.replica.guests.ImageHttp.request;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Output;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.guests.ImageHttp.Response;
import io.replicode.replica.module.Engine;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The image server (wasm-programs/src/image_server.c) over HTTP as a client speaks it: every PNG it returns is
 * decoded with javax.imageio and compared, sample for sample, with {@link ImageRaster}'s reference operations.
 */
class ImageServerTest {

    /** A guest with default limits, on the compiler unless a test says otherwise. */
    private static ImageGuest guest() {
        return new ImageGuest(Engine.COMPILER);
    }

    private static Response call(ImageGuest g, byte[] request) {
        return parse(g.exchange("http", request));
    }

    private static void assertStatus(int status, Response r) {
        assertEquals(status, r.status(), () -> "unexpected reply: " + r);
    }

    private static Response upload(ImageGuest g, String name, byte[] image) {
        Response r = call(g, put("/images/" + name, image));
        assertTrue(r.status() == 201 || r.status() == 200, () -> "upload of " + name + ": " + r);
        return r;
    }

    /** GETs the image through the query and decodes the PNG reply. */
    private static ImageRaster fetchPng(ImageGuest g, String name, String query) {
        Response r = call(g, get("/images/" + name + "?" + query));
        assertStatus(200, r);
        assertEquals("image/png", r.header("content-type"), () -> "content type of " + query);
        return ImageRaster.fromPng(r.body());
    }

    private static void assertSamePixels(ImageRaster expected, ImageRaster actual, String what) {
        assertNull(expected.firstDifference(actual), what);
    }

    /** A query that makes the server decode and re-encode without changing a pixel. */
    private static final String ROUND_TRIP = "flip=h&flip=h";

    // ---- the basics, on both engines -------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Engine.class)
    void stored_image_comes_back_byte_for_byte_and_transformed_like_the_reference(Engine engine) {
        try (ImageGuest g = new ImageGuest(engine)) {
            ImageRaster src = ImageRaster.photo(23, 17, 3, 7);
            byte[] png = src.toPng();
            Response created = call(g, put("/images/cat.png", png));
            assertStatus(201, created);
            assertEquals("{\"name\":\"cat.png\",\"bytes\":" + png.length + ",\"width\":23,\"height\":17,\"format\":\"png\"}\n",
                    created.text());

            Response stored = call(g, get("/images/cat.png"));
            assertStatus(200, stored);
            assertEquals("image/png", stored.header("content-type"));
            assertArrayEquals(png, stored.body());

            String query = "grayscale&thumbnail=8";
            assertSamePixels(src.apply(query), fetchPng(g, "cat.png", query), query);
        }
    }

    @ParameterizedTest
    @EnumSource(Engine.class)
    void files_protocol_transcript_is_byte_exact(Engine engine) {
        try (ImageGuest g = new ImageGuest(engine)) {
            byte[] payload = "line one\nline two\n\0\r\n".getBytes(StandardCharsets.ISO_8859_1);
            byte[] send = ImageHttp.concat("SEND notes.txt\n".getBytes(StandardCharsets.US_ASCII), be32(payload.length), payload);
            assertEquals("OK\n", new String(g.exchange("files", send), StandardCharsets.ISO_8859_1));

            byte[] reply = g.exchange("files", "GET notes.txt\n".getBytes(StandardCharsets.US_ASCII));
            assertArrayEquals(ImageHttp.concat(be32(payload.length), payload), reply);

            assertEquals("ERROR: File not found\n",
                    new String(g.exchange("files", "GET missing.txt\n".getBytes(StandardCharsets.US_ASCII)), StandardCharsets.ISO_8859_1));
        }
    }

    // ---- decoding: every color type, bit depth and filter -----------------------------------------

    @Test
    void every_png_color_type_decodes_to_the_same_pixels() {
        try (ImageGuest g = guest()) {
            for (int channels = 1; channels <= 4; channels++) {
                ImageRaster src = ImageRaster.photo(29, 19, channels, channels);
                String name = "type" + channels + ".png";
                Response r = upload(g, name, src.toPng());
                assertTrue(r.text().contains("\"width\":29,\"height\":19"), r.text());
                assertSamePixels(src, fetchPng(g, name, ROUND_TRIP), name);
            }
        }
    }

    @Test
    void palette_pngs_of_every_bit_depth_decode_with_their_transparency() {
        try (ImageGuest g = guest()) {
            for (int bits : new int[] {1, 2, 4, 8}) {
                for (boolean alpha : new boolean[] {false, true}) {
                    int colors = 1 << bits;
                    Random r = new Random(bits * 10L + (alpha ? 1 : 0));
                    byte[] red = new byte[colors];
                    byte[] green = new byte[colors];
                    byte[] blue = new byte[colors];
                    byte[] a = new byte[colors];
                    r.nextBytes(red);
                    r.nextBytes(green);
                    r.nextBytes(blue);
                    r.nextBytes(a);
                    IndexColorModel cm = alpha ? new IndexColorModel(bits, colors, red, green, blue, a)
                            : new IndexColorModel(bits, colors, red, green, blue);
                    int w = 21;
                    int h = 13;
                    BufferedImage img = bits == 8 ? new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, cm)
                            : new BufferedImage(w, h, BufferedImage.TYPE_BYTE_BINARY, cm);
                    ImageRaster expected = new ImageRaster(w, h, alpha ? 4 : 3);
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < w; x++) {
                            int index = r.nextInt(colors);
                            img.getRaster().setSample(x, y, 0, index);
                            expected.set(x, y, 0, red[index] & 0xff);
                            expected.set(x, y, 1, green[index] & 0xff);
                            expected.set(x, y, 2, blue[index] & 0xff);
                            if (alpha) {
                                expected.set(x, y, 3, a[index] & 0xff);
                            }
                        }
                    }
                    String name = "pal" + bits + (alpha ? "a" : "") + ".png";
                    upload(g, name, ImageRaster.writeImageIo(img, "png"));
                    assertSamePixels(expected, fetchPng(g, name, ROUND_TRIP), name);
                }
            }
        }
    }

    @Test
    void sixteen_bit_and_low_depth_gray_and_color_keys_decode() {
        try (ImageGuest g = guest()) {
            ImageRaster src = ImageRaster.noise(11, 7, 3, 5);
            // 16-bit RGB: the server keeps the high byte.
            byte[][] rows16 = new byte[7][11 * 6];
            for (int y = 0; y < 7; y++) {
                for (int i = 0; i < 11 * 3; i++) {
                    rows16[y][2 * i] = (byte) src.px[y * 33 + i];
                    rows16[y][2 * i + 1] = (byte) (i * 37 + y);
                }
            }
            upload(g, "rgb16.png", ImageRaster.handPng(11, 7, 2, 16, rows16, -1, 0, null, null));
            assertSamePixels(src, fetchPng(g, "rgb16.png", ROUND_TRIP), "16-bit RGB");

            // 2-bit gray scaled to 0, 85, 170, 255, with color key 1 (tRNS): gray+alpha.
            byte[][] rows2 = new byte[5][3];
            ImageRaster expected = new ImageRaster(12, 5, 2);
            for (int y = 0; y < 5; y++) {
                for (int x = 0; x < 12; x++) {
                    int v = (x + y) % 4;
                    rows2[y][x / 4] |= (byte) (v << (6 - 2 * (x % 4)));
                    expected.set(x, y, 0, v * 85);
                    expected.set(x, y, 1, v == 1 ? 0 : 255);
                }
            }
            upload(g, "gray2.png", ImageRaster.handPng(12, 5, 0, 2, rows2, -1, 0, null, new byte[] {0, 1}));
            assertSamePixels(expected, fetchPng(g, "gray2.png", ROUND_TRIP), "2-bit gray with tRNS");

            // 8-bit RGB with a color key: RGBA, alpha 0 exactly where the key matches.
            ImageRaster rgb = ImageRaster.noise(9, 6, 3, 6);
            rgb.set(4, 3, 0, 10);
            rgb.set(4, 3, 1, 20);
            rgb.set(4, 3, 2, 30);
            ImageRaster keyed = new ImageRaster(9, 6, 4);
            for (int y = 0; y < 6; y++) {
                for (int x = 0; x < 9; x++) {
                    boolean key = rgb.get(x, y, 0) == 10 && rgb.get(x, y, 1) == 20 && rgb.get(x, y, 2) == 30;
                    for (int c = 0; c < 3; c++) {
                        keyed.set(x, y, c, rgb.get(x, y, c));
                    }
                    keyed.set(x, y, 3, key ? 0 : 255);
                }
            }
            upload(g, "keyed.png", ImageRaster.handPng(9, 6, 2, 8, rgb.rows(), 0, 0, null, new byte[] {0, 10, 0, 20, 0, 30}));
            assertSamePixels(keyed, fetchPng(g, "keyed.png", ROUND_TRIP), "RGB with tRNS");
        }
    }

    @Test
    void every_filter_type_decodes_for_every_channel_count() {
        try (ImageGuest g = guest()) {
            for (int channels = 1; channels <= 4; channels++) {
                ImageRaster src = ImageRaster.photo(17, 11, channels, 40 + channels);
                for (int filter = -1; filter <= 4; filter++) {
                    String name = "f" + channels + "_" + (filter < 0 ? "mixed" : filter) + ".png";
                    byte[] png = ImageRaster.handPng(17, 11, ImageRaster.colorType(channels), 8, src.rows(), filter, 0, null, null);
                    assertSamePixels(src, ImageRaster.fromPng(png), "the hand-made PNG itself");
                    upload(g, name, png);
                    assertSamePixels(src, fetchPng(g, name, ROUND_TRIP), name);
                }
            }
        }
    }

    // ---- operations --------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"grayscale", "invert", "flip=h", "flip=v", "rotate=90", "rotate=180", "rotate=270",
            "crop=5,7,20,11", "crop=0,0,61,43", "resize=100x70", "resize=17x9", "resize=61x1", "resize=1x1",
            "thumbnail=16", "thumbnail=43", "thumbnail=100", "blur=1", "blur=3", "blur=64", "blur=0",
            "grayscale&rotate=90&crop=2,3,10,12&resize=31x17&blur=2&invert&thumbnail=8",
            "resize=7x120&thumbnail=30&flip=v", "format=png&invert&format=png"})
    void operations_match_the_reference(String query) {
        try (ImageGuest g = guest()) {
            for (int channels : new int[] {3, 4, 1}) {
                ImageRaster src = ImageRaster.photo(61, 43, channels, channels);
                String name = "src" + channels + ".png";
                upload(g, name, src.toPng());
                assertSamePixels(src.apply(query), fetchPng(g, name, query), query + " on " + channels + " channels");
            }
        }
    }

    @Test
    void thumbnail_keeps_the_aspect_ratio_of_tall_and_wide_images() {
        try (ImageGuest g = guest()) {
            ImageRaster tall = ImageRaster.photo(30, 97, 3, 1);
            upload(g, "tall.png", tall.toPng());
            ImageRaster t = fetchPng(g, "tall.png", "thumbnail=20");
            assertEquals(6, t.width);
            assertEquals(20, t.height);
            assertSamePixels(tall.thumbnail(20), t, "tall");

            ImageRaster wide = ImageRaster.photo(250, 3, 3, 2);
            upload(g, "wide.png", wide.toPng());
            ImageRaster w = fetchPng(g, "wide.png", "thumbnail=50");
            assertEquals(50, w.width);
            assertEquals(1, w.height);
            assertSamePixels(wide.thumbnail(50), w, "wide");
        }
    }

    // ---- PGM / PPM -----------------------------------------------------------------------------------

    @Test
    void ppm_and_pgm_round_trip_and_convert() {
        try (ImageGuest g = guest()) {
            ImageRaster rgb = ImageRaster.photo(31, 21, 3, 3);
            byte[] ppm = rgb.toPnm();
            Response created = call(g, put("/images/pic.ppm", ppm));
            assertStatus(201, created);
            assertTrue(created.text().contains("\"format\":\"ppm\""), created.text());
            Response stored = call(g, get("/images/pic.ppm"));
            assertEquals("image/x-portable-pixmap", stored.header("content-type"));
            assertArrayEquals(ppm, stored.body());

            assertSamePixels(rgb, fetchPng(g, "pic.ppm", "format=png"), "PPM to PNG");
            Response inverted = call(g, get("/images/pic.ppm?invert"));
            assertEquals("image/x-portable-pixmap", inverted.header("content-type"), "default format: the stored one");
            assertSamePixels(rgb.invert(), ImageRaster.fromPnm(inverted.body()), "invert on a PPM");
            Response gray = call(g, get("/images/pic.ppm?grayscale"));
            assertEquals("image/x-portable-graymap", gray.header("content-type"));
            assertSamePixels(rgb.grayscale(), ImageRaster.fromPnm(gray.body()), "grayscale of a PPM is a PGM");

            ImageRaster rgba = ImageRaster.photo(13, 9, 4, 4);
            upload(g, "alpha.png", rgba.toPng());
            Response asPpm = call(g, get("/images/alpha.png?format=ppm&rotate=90"));
            assertEquals("image/x-portable-pixmap", asPpm.header("content-type"));
            ImageRaster noAlpha = new ImageRaster(13, 9, 3);
            for (int i = 0; i < 13 * 9; i++) {
                System.arraycopy(rgba.px, i * 4, noAlpha.px, i * 3, 3);
            }
            assertSamePixels(noAlpha.rotate(90), ImageRaster.fromPnm(asPpm.body()), "PPM drops alpha");

            ImageRaster grayPng = ImageRaster.photo(8, 5, 1, 9);
            upload(g, "g.png", grayPng.toPng());
            assertSamePixels(grayPng, ImageRaster.fromPnm(call(g, get("/images/g.png?format=ppm")).body()), "gray PNG to P5");
        }
    }

    @Test
    void pgm_with_comments_and_a_two_byte_maxval_is_scaled() {
        try (ImageGuest g = guest()) {
            int[] samples = {0, 1, 500, 999, 1000, 3};
            byte[] head = "P5\n# made by hand\n3 2 # size\n1000\n".getBytes(StandardCharsets.US_ASCII);
            byte[] raster = new byte[12];
            ImageRaster expected = new ImageRaster(3, 2, 1);
            for (int i = 0; i < 6; i++) {
                raster[2 * i] = (byte) (samples[i] >> 8);
                raster[2 * i + 1] = (byte) samples[i];
                expected.px[i] = (samples[i] * 255 + 500) / 1000;
            }
            upload(g, "deep.pgm", ImageHttp.concat(head, raster));
            assertSamePixels(expected, fetchPng(g, "deep.pgm", "format=png"), "maxval 1000");
        }
    }

    // ---- errors --------------------------------------------------------------------------------------

    @Test
    void broken_images_get_400_with_a_reason() {
        try (ImageGuest g = guest()) {
            byte[] png = ImageRaster.photo(40, 30, 3, 1).toPng();
            for (int cut : new int[] {4, 8, 20, 33, 60, png.length / 2, png.length - 13, png.length - 1}) {
                Response r = call(g, put("/images/cut.png", Arrays.copyOf(png, cut)));
                assertStatus(400, r);
                assertTrue(r.text().contains("PNG") || r.text().contains("truncated"), r.text());
            }
            byte[] badCrc = png.clone();
            badCrc[40] ^= 1; // inside the first IDAT chunk
            assertTrue(call(g, put("/images/crc.png", badCrc)).text().contains("CRC mismatch"));

            byte[] badData = ImageRaster.handPng(4, 4, 0, 8, new byte[4][4], 0, 0, null, null);
            assertStatus(201, call(g, put("/images/ok.png", badData)));
            byte[] corrupt = corruptFirstIdat(badData);
            Response r = call(g, put("/images/zlib.png", corrupt));
            assertStatus(400, r);
            assertTrue(r.text().startsWith("bad PNG: image data:"), r.text());

            Response notImage = call(g, put("/images/x.png", "hello, world".getBytes(StandardCharsets.US_ASCII)));
            assertStatus(400, notImage);
            assertEquals("not a PNG, PGM or PPM image\n", notImage.text());

            byte[] shortPpm = Arrays.copyOf(ImageRaster.photo(5, 5, 3, 1).toPnm(), 40);
            Response ppm = call(g, put("/images/short.ppm", shortPpm));
            assertStatus(400, ppm);
            assertTrue(ppm.text().startsWith("truncated P6 file"), ppm.text());

            assertStatus(404, call(g, get("/images/cut.png")));
            assertEquals("[{\"name\":\"ok.png\",\"bytes\":" + badData.length + ",\"width\":4,\"height\":4,\"format\":\"png\"}]\n",
                    call(g, get("/images")).text(), "nothing broken was stored");
        }
    }

    /** The PNG with its image data's deflate stream damaged but every CRC valid. */
    private static byte[] corruptFirstIdat(byte[] png) {
        byte[] out = png.clone();
        int at = 8;
        while (true) {
            int len = ((out[at] & 0xff) << 24) | ((out[at + 1] & 0xff) << 16) | ((out[at + 2] & 0xff) << 8) | (out[at + 3] & 0xff);
            String type = new String(out, at + 4, 4, StandardCharsets.US_ASCII);
            if (type.equals("IDAT")) {
                for (int i = 2; i < len; i++) {
                    out[at + 8 + i] = (byte) 0xff;
                }
                java.util.zip.CRC32 crc = new java.util.zip.CRC32();
                crc.update(out, at + 4, len + 4);
                ImageRaster.putInt(out, at + 8 + len, (int) crc.getValue());
                return out;
            }
            at += len + 12;
        }
    }

    @Test
    void interlaced_png_and_plain_netpbm_get_415() {
        try (ImageGuest g = guest()) {
            byte[] interlaced = ImageRaster.handPng(4, 4, 0, 8, new byte[4][4], 0, 1, null, null);
            Response r = call(g, put("/images/i.png", interlaced));
            assertStatus(415, r);
            assertEquals("interlaced (Adam7) PNG is not supported; save the image without interlacing\n", r.text());

            Response plain = call(g, put("/images/p.ppm", "P3\n1 1\n255\n1 2 3\n".getBytes(StandardCharsets.US_ASCII)));
            assertStatus(415, plain);
            assertTrue(plain.text().contains("P3 is not supported"), plain.text());
        }
    }

    @Test
    void unknown_operation_and_bad_values_get_400_naming_them() {
        try (ImageGuest g = guest()) {
            upload(g, "a.png", ImageRaster.photo(10, 10, 3, 1).toPng());
            Response unknown = call(g, get("/images/a.png?grayscale&sharpen=2"));
            assertStatus(400, unknown);
            assertTrue(unknown.text().startsWith("unknown operation 'sharpen'"), unknown.text());
            for (String bad : new String[] {"rotate=45", "flip=x", "crop=1,2,3", "crop=0,0,0,5", "resize=10", "resize=0x5",
                    "thumbnail=0", "blur=65", "format=gif", "grayscale=1"}) {
                Response r = call(g, get("/images/a.png?" + bad));
                assertStatus(400, r);
                String op = bad.substring(0, bad.indexOf('='));
                assertTrue(r.text().startsWith("bad value") && r.text().contains(op), bad + ": " + r.text());
            }
            Response outside = call(g, get("/images/a.png?crop=5,5,6,5"));
            assertStatus(400, outside);
            assertEquals("crop=5,5,6,5 is outside the 10x10 image\n", outside.text());
            StringBuilder many = new StringBuilder("invert");
            for (int i = 0; i < 16; i++) {
                many.append("&invert");
            }
            assertStatus(400, call(g, get("/images/a.png?" + many)));
            assertStatus(400, call(g, get("/images/..hidden")));
            assertStatus(404, call(g, get("/nothing")));
        }
    }

    @Test
    void too_many_bytes_or_pixels_get_413() {
        Map<String, String> env = Map.of("IMAGE_MAX_BYTES", "3000", "IMAGE_MAX_PIXELS", "2500");
        try (ImageGuest g = new ImageGuest(Engine.COMPILER, GuestLimits.DEFAULT, env)) {
            Response big = call(g, put("/images/big.png", ImageRaster.noise(40, 40, 3, 1).toPng()));
            assertStatus(413, big);
            assertEquals("body larger than 3000 bytes (IMAGE_MAX_BYTES)\n", big.text());

            byte[] wide = ImageRaster.handPng(51, 50, 0, 8, new byte[50][51], 0, 0, null, null);
            assertTrue(wide.length < 3000);
            Response pixels = call(g, put("/images/wide.png", wide));
            assertStatus(413, pixels);
            assertEquals("image is 51x50 = 2550 pixels, the limit is 2500\n", pixels.text());

            upload(g, "small.png", ImageRaster.photo(20, 20, 3, 1).toPng());
            Response grown = call(g, get("/images/small.png?resize=60x60"));
            assertStatus(413, grown);
            assertTrue(grown.text().contains("IMAGE_MAX_PIXELS"), grown.text());
        }
    }

    @Test
    void full_filesystem_gives_507_and_a_files_protocol_error() {
        GuestLimits limits = GuestLimits.DEFAULT.withFsQuotaBytes(20_000);
        try (ImageGuest g = new ImageGuest(Engine.COMPILER, limits, Map.of())) {
            byte[] png = ImageRaster.noise(100, 100, 3, 1).toPng();
            assertTrue(png.length > 20_000);
            byte[] raw = g.exchange("http", put("/images/huge.png", png));
            assertTrue(new String(raw, StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 507 Insufficient Storage\r\n"),
                    ImageGuest.preview(raw));
            Response r = parse(raw);
            assertEquals("no space left: the filesystem quota is full\n", r.text());
            assertEquals("[]\n", call(g, get("/images")).text(), "no half-written image");

            byte[] send = ImageHttp.concat("SEND big.bin\n".getBytes(StandardCharsets.US_ASCII), be32(30_000), new byte[30_000],
                    "GET big.bin\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals("ERROR: no space left: the filesystem quota is full\nERROR: File not found\n",
                    new String(g.exchange("files", send), StandardCharsets.ISO_8859_1));
        }
    }

    // ---- listing, deleting, HTTP behaviour -------------------------------------------------------------

    @Test
    void listing_is_sorted_json_and_delete_removes() {
        try (ImageGuest g = guest()) {
            byte[] b = ImageRaster.photo(5, 4, 3, 1).toPng();
            byte[] a = ImageRaster.photo(7, 3, 1, 2).toPnm();
            upload(g, "b.png", b);
            upload(g, "a.pgm", a);
            assertEquals("[{\"name\":\"a.pgm\",\"bytes\":" + a.length + ",\"width\":7,\"height\":3,\"format\":\"pgm\"},"
                    + "{\"name\":\"b.png\",\"bytes\":" + b.length + ",\"width\":5,\"height\":4,\"format\":\"png\"}]\n",
                    call(g, get("/images")).text());
            assertEquals("application/json", call(g, get("/images/")).header("content-type"));

            Response replaced = call(g, put("/images/b.png", b));
            assertStatus(200, replaced);

            assertStatus(204, call(g, request("DELETE", "/images/b.png", null)));
            assertStatus(404, call(g, request("DELETE", "/images/b.png", null)));
            assertStatus(404, call(g, get("/images/b.png")));
            assertEquals("[{\"name\":\"a.pgm\",\"bytes\":" + a.length + ",\"width\":7,\"height\":3,\"format\":\"pgm\"}]\n",
                    call(g, get("/images")).text());
        }
    }

    @Test
    void head_post_and_usage() {
        try (ImageGuest g = guest()) {
            byte[] png = ImageRaster.photo(5, 4, 3, 1).toPng();
            upload(g, "x.png", png);
            List<Response> head = parseAll(g.exchange("http", request("HEAD", "/images/x.png", null)), true);
            assertEquals(200, head.get(0).status());
            assertEquals(Integer.toString(png.length), head.get(0).header("content-length"));
            assertEquals(0, head.get(0).body().length);

            Response post = call(g, request("POST", "/images/x.png", new byte[0]));
            assertStatus(405, post);
            assertEquals("GET, HEAD, PUT, DELETE", post.header("allow"));
            assertStatus(405, call(g, request("PUT", "/images", new byte[0])));

            Response usage = call(g, get("/"));
            assertStatus(200, usage);
            assertTrue(usage.text().contains("thumbnail=N"), usage.text());
        }
    }

    @Test
    void pipelined_keep_alive_requests_are_answered_in_order() {
        try (ImageGuest g = guest()) {
            ImageRaster src = ImageRaster.photo(12, 9, 3, 1);
            byte[] png = src.toPng();
            byte[] all = ImageHttp.concat(put("/images/p.png", png), get("/images/p.png?rotate=90"), get("/images"),
                    request("DELETE", "/images/p.png", null), get("/images/p.png"),
                    request("GET", "/images", null, "Connection: close"), get("/never-answered"));
            ImageGuest.Connection c = g.open("http");
            c.send(all);
            byte[] raw = c.awaitClose();
            List<Response> rs = parseAll(raw);
            assertEquals(6, rs.size(), () -> "replies: " + rs);
            assertEquals(List.of(201, 200, 200, 204, 404, 200), rs.stream().map(Response::status).toList());
            assertSamePixels(src.rotate(90), ImageRaster.fromPng(rs.get(1).body()), "pipelined rotate");
            assertEquals("[]\n", rs.get(5).text());
            assertEquals("close", rs.get(5).header("connection"));
        }
    }

    @Test
    void pipelined_large_replies_go_on_as_the_client_reads() {
        try (ImageGuest g = guest()) {
            byte[] ppm = ImageRaster.noise(300, 250, 3, 8).toPnm(); // 225 KB a reply
            upload(g, "n.ppm", ppm);
            byte[][] reqs = new byte[10][];
            for (int i = 0; i < reqs.length; i++) {
                reqs[i] = get(i % 2 == 0 ? "/images/n.ppm" : "/images/n.ppm?flip=v&flip=v");
            }
            ImageGuest.Connection c = g.open("http");
            c.send(ImageHttp.concat(reqs));
            c.halfClose();
            List<Response> rs = parseAll(c.awaitClose());
            assertEquals(10, rs.size());
            for (Response r : rs) {
                assertStatus(200, r);
                assertArrayEquals(ppm, r.body());
            }
        }
    }

    @Test
    void expect_100_continue_gets_an_interim_reply_before_the_body() {
        try (ImageGuest g = guest()) {
            byte[] png = ImageRaster.photo(6, 6, 3, 1).toPng();
            ImageGuest.Connection c = g.open("http");
            byte[] full = request("PUT", "/images/e.png", png, "Expect: 100-continue");
            int headEnd = ImageHttp.indexOf(full, 0, "\r\n\r\n") + 4;
            c.send(Arrays.copyOf(full, headEnd));
            assertEquals("HTTP/1.1 100 Continue\r\n\r\n", new String(c.awaitBytes(25), StandardCharsets.ISO_8859_1));
            c.send(Arrays.copyOfRange(full, headEnd, full.length));
            c.halfClose();
            List<Response> rs = parseAll(c.awaitClose());
            assertEquals(201, rs.get(0).status());
        }
    }

    @Test
    void requests_split_at_every_byte_boundary_get_the_same_replies() {
        try (ImageGuest g = guest()) {
            ImageRaster src = ImageRaster.photo(5, 3, 3, 1);
            byte[] png = src.toPng();
            byte[] putReq = put("/images/s.png", png);
            byte[] getReq = get("/images/s.png?invert&format=png");
            byte[] expectedPut = g.exchange("http", putReq);
            byte[] expectedGet = g.exchange("http", getReq);
            assertSamePixels(src.invert(), ImageRaster.fromPng(parse(expectedGet).body()), "invert");
            byte[] both = ImageHttp.concat(putReq, getReq);
            byte[] expected = ImageHttp.concat(replaceStatus(expectedPut), expectedGet);
            for (int split = 1; split < both.length; split++) {
                ImageGuest.Connection c = g.open("http");
                c.send(Arrays.copyOf(both, split));
                c.send(Arrays.copyOfRange(both, split, both.length));
                c.halfClose();
                assertArrayEquals(expected, c.awaitClose(), "split at byte " + split);
            }
            byte[] files = ImageHttp.concat("SEND a\n".getBytes(StandardCharsets.US_ASCII), be32(3), "xyz".getBytes(StandardCharsets.US_ASCII),
                    "GET a\n".getBytes(StandardCharsets.US_ASCII));
            for (int split = 1; split < files.length; split++) {
                ImageGuest.Connection c = g.open("files");
                c.send(Arrays.copyOf(files, split));
                c.send(Arrays.copyOfRange(files, split, files.length));
                c.halfClose();
                assertArrayEquals(ImageHttp.concat("OK\n".getBytes(StandardCharsets.US_ASCII), be32(3), "xyz".getBytes(StandardCharsets.US_ASCII)),
                        c.awaitClose(), "files split at byte " + split);
            }
        }
    }

    /** The first PUT created the image (201); every later identical PUT replaces it (200). */
    private static byte[] replaceStatus(byte[] created) {
        String s = new String(created, StandardCharsets.ISO_8859_1).replace("HTTP/1.1 201 Created", "HTTP/1.1 200 OK");
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void large_files_stream_through_the_files_protocol_across_frames() {
        try (ImageGuest g = guest()) {
            byte[] data = new byte[700_000];
            new Random(3).nextBytes(data);
            byte[] send = ImageHttp.concat("SEND blob.bin\n".getBytes(StandardCharsets.US_ASCII), be32(data.length), data);
            assertEquals("OK\n", new String(g.exchange("files", send), StandardCharsets.ISO_8859_1));
            assertArrayEquals(ImageHttp.concat(be32(data.length), data),
                    g.exchange("files", "GET blob.bin\n".getBytes(StandardCharsets.US_ASCII)));
            assertEquals("ERROR: Unknown command\nERROR: File not found\n", new String(
                    g.exchange("files", "HELLO\nGET .part-1\n".getBytes(StandardCharsets.US_ASCII)), StandardCharsets.ISO_8859_1));
        }
    }

    @Test
    void a_photo_sized_image_uploads_and_thumbnails_within_the_default_fuel() {
        try (ImageGuest g = guest()) {
            ImageRaster photo = ImageRaster.photo(640, 480, 3, 11);
            upload(g, "photo.png", photo.toPng());
            String query = "grayscale&thumbnail=64";
            assertSamePixels(photo.apply(query), fetchPng(g, "photo.png", query), query);
            ImageRaster full = fetchPng(g, "photo.png", "rotate=180");
            assertSamePixels(photo.rotate(180), full, "full-size re-encode");
        }
    }

    // ---- the work budget ------------------------------------------------------------------------------

    @Test
    void work_estimates_bound_the_fuel_really_spent() {
        // Fuel per frame barely above the work limit: a request whose estimate is below the real cost would
        // stop the app (and fail the test) instead of getting its reply.
        long limit = 300_000_000L;
        GuestLimits limits = GuestLimits.DEFAULT.withFuelPerFrame(limit + 30_000_000L);
        try (ImageGuest g = new ImageGuest(Engine.COMPILER, limits, Map.of("IMAGE_WORK_LIMIT", Long.toString(limit)))) {
            ImageRaster photo = ImageRaster.photo(400, 300, 3, 5);
            upload(g, "p.png", photo.toPng());
            upload(g, "a.png", ImageRaster.photo(300, 200, 4, 6).toPng());
            upload(g, "p.ppm", photo.toPnm());
            int accepted = 0;
            for (String target : new String[] {"p.png?rotate=90", "p.png?blur=8", "p.png?blur=64&format=ppm", "p.png?resize=800x600",
                    "p.png?grayscale&invert&flip=h", "p.png?thumbnail=64", "a.png?crop=1,1,298,198&flip=v", "a.png?rotate=270&grayscale",
                    "p.ppm?resize=1000x800&thumbnail=500", "p.ppm?format=png", "p.ppm?blur=30&resize=200x150&format=png"}) {
                Response r = call(g, get("/images/" + target));
                assertTrue(r.status() == 200 || r.status() == 413, () -> target + ": " + r);
                accepted += r.status() == 200 ? 1 : 0;
            }
            assertTrue(accepted >= 8, "most of these fit the budget: " + accepted);
        }
    }

    @Test
    void requests_over_the_work_limit_get_413_and_the_rest_wait_for_a_later_frame() {
        try (ImageGuest g = new ImageGuest(Engine.COMPILER, GuestLimits.DEFAULT, Map.of("IMAGE_WORK_LIMIT", "200000000"))) {
            ImageRaster photo = ImageRaster.photo(300, 200, 3, 5);
            upload(g, "p.png", photo.toPng());
            Response big = call(g, get("/images/p.png?resize=1200x800"));
            assertStatus(413, big);
            assertTrue(big.text().contains("IMAGE_WORK_LIMIT (200000000)"), big.text());

            // Each fits the budget alone, not both in one frame: the second waits for a timer frame.
            byte[] req = get("/images/p.png?rotate=90");
            ImageGuest.Connection a = g.open("http");
            ImageGuest.Connection b = g.open("http");
            List<Output> frame = g.together(a, req, b, req);
            assertTrue(frame.stream().anyMatch(o -> o instanceof Output.Send s && s.connection() == a.id), "a is answered at once");
            assertTrue(frame.stream().noneMatch(o -> o instanceof Output.Send s && s.connection() == b.id), "b waits");
            assertTrue(frame.stream().anyMatch(o -> o instanceof Output.TimerRequest), "and asks for a timer frame");
            a.halfClose();
            b.halfClose();
            assertSamePixels(photo.rotate(90), ImageRaster.fromPng(parse(a.awaitClose()).body()), "a");
            assertSamePixels(photo.rotate(90), ImageRaster.fromPng(parse(b.awaitClose()).body()), "b, a frame later");
        }
    }

    static byte[] be32(int v) {
        byte[] b = new byte[4];
        ImageRaster.putInt(b, 0, v);
        return b;
    }
}
