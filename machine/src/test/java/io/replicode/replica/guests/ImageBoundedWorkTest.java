package io.replicode.replica.guests;

import static io.replicode.replica.guests.ImageHttp.get;
import static io.replicode.replica.guests.ImageHttp.parse;
import static io.replicode.replica.guests.ImageHttp.put;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.guests.ImageHttp.Response;
import io.replicode.replica.module.Engine;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The image guest's answers to inputs that used to stop it for good (issue 12): concurrent requests waiting for the
 * work budget after their clients finished sending, deflate bombs, and the file protocol's unbounded SEND and bad
 * names. Each test ends with the app answering another client.
 */
class ImageBoundedWorkTest {
    /** The shipped configuration of the image app (conf/replicode.json). */
    private static final GuestLimits CONF_LIMITS = GuestLimits.DEFAULT.withMemoryPages(8192)
            .withFuelPerFrame(8_000_000_000L).withFsQuotaBytes(268_435_456L);
    private static final Map<String, String> CONF_ENV = Map.of("IMAGE_MAX_PIXELS", "16777216",
            "IMAGE_WORK_LIMIT", "4000000000");

    private static Response call(ImageGuest g, byte[] request) {
        return parse(g.exchange("http", request));
    }

    private static void stillServes(ImageGuest g) {
        Response r = call(g, get("/images/"));
        assertEquals(200, r.status(), () -> "the listing after: " + r);
    }

    @Test
    void five_simultaneous_blur_requests_from_clients_that_finished_sending_are_all_answered() {
        try (ImageGuest g = new ImageGuest(Engine.COMPILER, CONF_LIMITS, CONF_ENV)) {
            ImageRaster photo = ImageRaster.photo(640, 480, 3, 11);
            assertEquals(201, call(g, put("/images/photo.png", photo.toPng())).status());
            // Five clients send the request and half-close in the same frame: the guest's budget answers some,
            // the others wait (half-closed, nothing to read or write) for later frames.
            byte[] req = get("/images/photo.png?blur=64");
            List<ImageGuest.Connection> cs = new ArrayList<>();
            List<IngressEvent> events = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                ImageGuest.Connection c = g.open("http");
                c.credit -= req.length;
                cs.add(c);
                events.add(new IngressEvent.Data(c.id, req));
                events.add(new IngressEvent.HalfClose(c.id));
            }
            List<Output> first = g.frame(events.toArray(IngressEvent[]::new));
            long answered = cs.stream().filter(c -> first.stream()
                    .anyMatch(o -> o instanceof Output.Send s && s.connection() == c.id)).count();
            assertTrue(answered < 5, "the budget does not cover five blurs in one frame: " + answered);
            ImageRaster expected = photo.apply("blur=64");
            for (ImageGuest.Connection c : cs) {
                Response r = parse(c.awaitClose());
                assertEquals(200, r.status(), () -> "connection " + c.id + ": " + r);
                assertNull(expected.firstDifference(ImageRaster.fromPng(r.body())), "connection " + c.id);
            }
            stillServes(g);
        }
    }

    @Test
    void a_png_of_two_hundred_thousand_empty_dynamic_huffman_blocks_gets_413_and_the_app_keeps_answering() {
        try (ImageGuest g = new ImageGuest(Engine.COMPILER, CONF_LIMITS, CONF_ENV)) {
            byte[] bomb = grayPng1x1(emptyDynamicBlocks(200_000), (byte) 77);
            assertTrue(bomb.length > 2_200_000, "the issue's 2.2 MB bomb: " + bomb.length);
            long before = g.fuelConsumed();
            Response r = call(g, put("/images/bomb.png", bomb));
            System.out.printf("fuel %,15d  PUT of a %d-byte PNG of 200,000 empty dynamic blocks%n",
                    g.fuelConsumed() - before, bomb.length);
            assertEquals(413, r.status(), () -> "the bomb: " + r);
            assertTrue(r.text().contains("deflate blocks (16 + 1 per 2 KiB)"), r.text());
            assertTrue(r.text().contains("Fix: re-encode"), r.text());
            assertEquals(404, call(g, get("/images/bomb.png")).status(), "nothing stored");
            stillServes(g);
        }
    }

    @Test
    void a_png_with_as_many_empty_blocks_as_its_size_allows_decodes() {
        // The same construction within the allowance (16 blocks + 1 per 2 KiB) is a valid image and decodes: the bound
        // is on work, not on the shape of the stream.
        try (ImageGuest g = new ImageGuest(Engine.COMPILER, CONF_LIMITS, CONF_ENV)) {
            long plain = g.fuelConsumed();
            assertEquals(201, call(g, put("/images/plain.png", grayPng1x1(emptyDynamicBlocks(0), (byte) 77))).status());
            plain = g.fuelConsumed() - plain;
            byte[] png = grayPng1x1(emptyDynamicBlocks(15), (byte) 77);
            long before = g.fuelConsumed();
            assertEquals(201, call(g, put("/images/ok.png", png)).status());
            System.out.printf("fuel %,15d  per empty dynamic block (PUT of 15 of them, %d bytes, minus none)%n",
                    (g.fuelConsumed() - before - plain) / 15, png.length);
            assertEquals(413, call(g, put("/images/over.png", grayPng1x1(emptyDynamicBlocks(16), (byte) 77))).status(),
                    "one block more than 16 + 0 per 2 KiB");
            Response back = call(g, get("/images/ok.png?format=ppm"));
            assertEquals(200, back.status());
            byte[] body = back.body();
            assertEquals(77, body[body.length - 1], "the pixel after all the empty blocks");
        }
    }

    private static final String BAD_NAME = "ERROR: Bad file name. Fix: use 1 to 128 of A-Z a-z 0-9 . _ -, not "
            + "starting with '.' (no NUL, no '/')\n";

    @Test
    void send_of_a_size_over_the_limit_is_refused_at_once_and_frees_its_slot() {
        try (ImageGuest g = new ImageGuest(Engine.COMPILER, CONF_LIMITS, CONF_ENV)) {
            ImageGuest.Connection c = g.open("files");
            // "SEND huge" with size 0xFFFFFFFF, then silence: answered without waiting for a byte more.
            c.send(ImageHttp.concat(latin1("SEND huge\n"), new byte[] {-1, -1, -1, -1}));
            String reply = new String(c.awaitClose(), StandardCharsets.ISO_8859_1);
            assertEquals("ERROR: File too large: 4294967295 bytes declared, the limit is 16777216 (FILES_MAX_BYTES)\n",
                    reply);
            assertEquals("ERROR: File not found\n",
                    new String(g.exchange("files", latin1("GET huge\n")), StandardCharsets.ISO_8859_1));
            assertEquals("OK\n", new String(g.exchange("files", ImageHttp.concat(latin1("SEND small\n"),
                    ImageServerTest.be32(3), latin1("abc"))), StandardCharsets.ISO_8859_1));
            stillServes(g);
        }
    }

    @Test
    void names_with_nul_or_slash_or_dots_are_refused_not_cut_short() {
        try (ImageGuest g = new ImageGuest(Engine.COMPILER, CONF_LIMITS, CONF_ENV)) {
            for (String name : new String[] {"a\0b", "a/b", "/etc", "", ".", "..", "../x", "x".repeat(129)}) {
                ImageGuest.Connection c = g.open("files");
                c.send(ImageHttp.concat(latin1("SEND " + name + "\n"), ImageServerTest.be32(3), latin1("abc")));
                assertEquals(BAD_NAME, new String(c.awaitClose(), StandardCharsets.ISO_8859_1), "SEND of " + name);
            }
            // Nothing was stored under the part before the NUL.
            assertEquals("ERROR: File not found\n",
                    new String(g.exchange("files", latin1("GET a\n")), StandardCharsets.ISO_8859_1));
            assertEquals("OK\n", new String(g.exchange("files", ImageHttp.concat(latin1("SEND a\n"),
                    ImageServerTest.be32(1), latin1("z"))), StandardCharsets.ISO_8859_1));
            // GET with a NUL does not read "a".
            assertEquals(BAD_NAME + "ERROR: Bad file name. Fix: use 1 to 128 of A-Z a-z 0-9 . _ -, not starting with "
                    + "'.' (no NUL, no '/')\n", new String(g.exchange("files", latin1("GET a\0b\nGET ../a\n")),
                    StandardCharsets.ISO_8859_1));
            stillServes(g);
        }
    }

    /**
     * {@code n} empty, non-final dynamic-Huffman deflate blocks, written bit by bit: HLIT 257, HDIST 1, all 19
     * code-length codes (18 gets 1 bit, 0 and 1 get 2 bits, the rest none), 256 zero lengths as two repeats of
     * symbol 18, length 1 for end-of-block, 0 for the one distance code, then the end-of-block code: 95 bits.
     */
    static BitWriter emptyDynamicBlocks(int n) {
        int[] order = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
        int[] clLen = new int[19];
        clLen[18] = 1;
        clLen[0] = 2;
        clLen[1] = 2;
        BitWriter w = new BitWriter();
        for (int b = 0; b < n; b++) {
            w.bits(0, 1); // BFINAL
            w.bits(2, 2); // BTYPE dynamic
            w.bits(0, 5); // HLIT: 257
            w.bits(0, 5); // HDIST: 1
            w.bits(15, 4); // HCLEN: 19
            for (int sym : order) {
                w.bits(clLen[sym], 3);
            }
            // Canonical code-length codes: 18 -> 0, 0 -> 10, 1 -> 11 (Huffman codes go most significant bit first).
            w.code(0b0, 1).bits(127, 7); // 138 zeros
            w.code(0b0, 1).bits(107, 7); // 118 zeros: literals 0..255
            w.code(0b11, 2); // end-of-block: length 1
            w.code(0b10, 2); // the distance code: length 0
            w.code(0b0, 1); // end-of-block
        }
        return w;
    }

    /** A 1x1 8-bit gray PNG whose zlib stream is {@code blocks} followed by a final stored block of the pixel. */
    static byte[] grayPng1x1(BitWriter blocks, byte pixel) {
        byte[] raw = {0, pixel}; // filter type 0, the pixel
        blocks.bits(1, 1).bits(0, 2).alignToByte(); // BFINAL, stored
        java.io.ByteArrayOutputStream z = new java.io.ByteArrayOutputStream();
        z.write(0x78);
        z.write(0x01);
        z.writeBytes(blocks.toBytes());
        z.writeBytes(new byte[] {2, 0, (byte) 0xfd, (byte) 0xff});
        z.writeBytes(raw);
        java.util.zip.Adler32 adler = new java.util.zip.Adler32();
        adler.update(raw);
        z.writeBytes(ImageServerTest.be32((int) adler.getValue()));
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        png.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        java.io.ByteArrayOutputStream ihdr = new java.io.ByteArrayOutputStream();
        ihdr.writeBytes(ImageServerTest.be32(1));
        ihdr.writeBytes(ImageServerTest.be32(1));
        ihdr.writeBytes(new byte[] {8, 0, 0, 0, 0});
        chunk(png, "IHDR", ihdr.toByteArray());
        chunk(png, "IDAT", z.toByteArray());
        chunk(png, "IEND", new byte[0]);
        return png.toByteArray();
    }

    private static void chunk(java.io.ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ImageServerTest.be32(data.length));
        out.writeBytes(t);
        out.writeBytes(data);
        out.writeBytes(ImageServerTest.be32((int) crc.getValue()));
    }

    /** Deflate's bit order: fields least significant bit first, Huffman codes most significant bit first. */
    static final class BitWriter {
        private final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        private int acc;
        private int n;

        BitWriter bits(int value, int count) {
            for (int i = 0; i < count; i++) {
                acc |= ((value >> i) & 1) << n;
                if (++n == 8) {
                    out.write(acc);
                    acc = 0;
                    n = 0;
                }
            }
            return this;
        }

        BitWriter code(int code, int length) {
            for (int i = length - 1; i >= 0; i--) {
                bits((code >> i) & 1, 1);
            }
            return this;
        }

        BitWriter alignToByte() {
            if (n > 0) {
                bits(0, 8 - n);
            }
            return this;
        }

        byte[] toBytes() {
            return out.toByteArray();
        }
    }

    static byte[] latin1(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
