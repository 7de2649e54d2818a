package io.replicode.replica.guests;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.ImageIO;

/**
 * An 8-bit image as the image server models it (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA channels, interleaved),
 * its conversions to and from PNG (javax.imageio, or written by hand for what ImageIO cannot write) and PGM/PPM,
 * and a reference implementation of every server operation in the same integer arithmetic as
 * {@code wasm-programs/src/imageops.c}.
 */
final class ImageRaster {
    final int width;
    final int height;
    final int channels;
    final int[] px;

    ImageRaster(int width, int height, int channels) {
        this.width = width;
        this.height = height;
        this.channels = channels;
        this.px = new int[width * height * channels];
    }

    int get(int x, int y, int c) {
        return px[(y * width + x) * channels + c];
    }

    void set(int x, int y, int c, int v) {
        px[(y * width + x) * channels + c] = v;
    }

    /** A photo-like test image: smooth gradients, a disc, and some noise, from a seed. */
    static ImageRaster photo(int width, int height, int channels, long seed) {
        Random r = new Random(seed);
        ImageRaster img = new ImageRaster(width, height, channels);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int dx = x - width / 2;
                int dy = y - height / 3;
                boolean disc = dx * dx + dy * dy < (width * width) / 16;
                for (int c = 0; c < channels; c++) {
                    int base = switch (c) {
                        case 0 -> 255 * x / width;
                        case 1 -> 255 * y / height;
                        case 2 -> (x + y) * 255 / (width + height);
                        default -> 128 + 127 * (x % 16) / 16;
                    };
                    int v = base + (disc ? 60 : 0) + r.nextInt(17) - 8;
                    img.set(x, y, c, Math.max(0, Math.min(255, v)));
                }
            }
        }
        return img;
    }

    static ImageRaster noise(int width, int height, int channels, long seed) {
        Random r = new Random(seed);
        ImageRaster img = new ImageRaster(width, height, channels);
        for (int i = 0; i < img.px.length; i++) {
            img.px[i] = r.nextInt(256);
        }
        return img;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImageRaster r && r.width == width && r.height == height && r.channels == channels
                && Arrays.equals(r.px, px);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(px);
    }

    @Override
    public String toString() {
        return width + "x" + height + "x" + channels;
    }

    /** Where two images first differ, for assertion messages; null if they are equal. */
    String firstDifference(ImageRaster o) {
        if (o.width != width || o.height != height || o.channels != channels) {
            return "size " + o + ", expected " + this;
        }
        for (int i = 0; i < px.length; i++) {
            if (px[i] != o.px[i]) {
                int pixel = i / channels;
                return "sample (" + pixel % width + "," + pixel / width + ") channel " + i % channels + " is " + o.px[i]
                        + ", expected " + px[i];
            }
        }
        return null;
    }

    // ---- PNG through javax.imageio --------------------------------------------------------------

    /** Gray, RGB and RGBA through ImageIO's own types; gray+alpha through a two-band component model. */
    BufferedImage toBufferedImage() {
        BufferedImage img = switch (channels) {
            case 1 -> new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
            case 3 -> new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
            case 4 -> new BufferedImage(width, height, BufferedImage.TYPE_4BYTE_ABGR);
            default -> grayAlphaImage(width, height);
        };
        WritableRaster raster = img.getRaster();
        int[] pixel = new int[channels];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                for (int c = 0; c < channels; c++) {
                    pixel[c] = get(x, y, c);
                }
                raster.setPixel(x, y, pixel);
            }
        }
        return img;
    }

    private static BufferedImage grayAlphaImage(int width, int height) {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_GRAY), true, false,
                Transparency.TRANSLUCENT, DataBuffer.TYPE_BYTE);
        WritableRaster raster = cm.createCompatibleWritableRaster(width, height);
        return new BufferedImage(cm, raster, false, null);
    }

    byte[] toPng() {
        return writeImageIo(toBufferedImage(), "png");
    }

    static byte[] writeImageIo(BufferedImage img, String format) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, format, out)) {
                throw new IllegalStateException("no ImageIO writer for " + format + " of type " + img.getType());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Decodes a PNG with javax.imageio; the band count becomes the channel count. */
    static ImageRaster fromPng(byte[] png) {
        BufferedImage img;
        try {
            img = ImageIO.read(new ByteArrayInputStream(png));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (img == null) {
            throw new AssertionError("ImageIO cannot read the PNG: " + ImageGuest.preview(png));
        }
        Raster raster = img.getRaster();
        ImageRaster out = new ImageRaster(img.getWidth(), img.getHeight(), raster.getNumBands());
        int[] pixel = new int[out.channels];
        for (int y = 0; y < out.height; y++) {
            for (int x = 0; x < out.width; x++) {
                raster.getPixel(x, y, pixel);
                for (int c = 0; c < out.channels; c++) {
                    out.set(x, y, c, pixel[c]);
                }
            }
        }
        return out;
    }

    // ---- PGM / PPM ---------------------------------------------------------------------------

    /** P5 for gray, P6 for RGB (maxval 255). */
    byte[] toPnm() {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("netpbm has no alpha");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(((channels == 1 ? "P5" : "P6") + "\n" + width + " " + height + "\n255\n").getBytes(StandardCharsets.US_ASCII));
        for (int v : px) {
            out.write(v);
        }
        return out.toByteArray();
    }

    /** Parses a P5/P6 file with maxval 255 as the server writes it ("P6\nW H\n255\n"). */
    static ImageRaster fromPnm(byte[] file) {
        String text = new String(file, 0, Math.min(file.length, 64), StandardCharsets.ISO_8859_1);
        String[] f = text.split("\\s+", 5);
        if (!f[0].equals("P5") && !f[0].equals("P6") || !f[3].equals("255")) {
            throw new AssertionError("not a P5/P6 file with maxval 255: " + ImageGuest.preview(file));
        }
        int header = (f[0] + "\n" + f[1] + " " + f[2] + "\n255\n").length();
        ImageRaster out = new ImageRaster(Integer.parseInt(f[1]), Integer.parseInt(f[2]), f[0].equals("P5") ? 1 : 3);
        if (file.length != header + out.px.length) {
            throw new AssertionError("P5/P6 file of " + file.length + " bytes, expected " + (header + out.px.length));
        }
        for (int i = 0; i < out.px.length; i++) {
            out.px[i] = file[header + i] & 0xff;
        }
        return out;
    }

    // ---- PNG by hand -------------------------------------------------------------------------

    /**
     * A PNG written without ImageIO, so a test chooses what ImageIO would not: the filter of every row, the
     * interlace flag, odd bit depths, PLTE and tRNS. {@code rows} are unfiltered scanlines in the file's
     * format; a filter of -1 cycles through 0..4 by row.
     */
    static byte[] handPng(int width, int height, int colorType, int depth, byte[][] rows, int filter, int interlace,
                          byte[] plte, byte[] trns) {
        int bitsPerPixel = depth * switch (colorType) {
            case 2 -> 3;
            case 4 -> 2;
            case 6 -> 4;
            default -> 1;
        };
        int bpp = Math.max(1, bitsPerPixel / 8);
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        byte[] prev = new byte[rows[0].length];
        for (int y = 0; y < rows.length; y++) {
            int f = filter >= 0 ? filter : y % 5;
            raw.write(f);
            raw.writeBytes(filterRow(f, rows[y], prev, bpp));
            prev = rows[y];
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        png.writeBytes(new byte[] {(byte) 137, 80, 78, 71, 13, 10, 26, 10});
        byte[] ihdr = new byte[13];
        putInt(ihdr, 0, width);
        putInt(ihdr, 4, height);
        ihdr[8] = (byte) depth;
        ihdr[9] = (byte) colorType;
        ihdr[12] = (byte) interlace;
        chunk(png, "IHDR", ihdr);
        if (plte != null) {
            chunk(png, "PLTE", plte);
        }
        if (trns != null) {
            chunk(png, "tRNS", trns);
        }
        chunk(png, "tEXt", "Comment\0made by hand".getBytes(StandardCharsets.ISO_8859_1));
        byte[] z = deflate(raw.toByteArray());
        int half = z.length / 2; // two IDAT chunks: decoders must join them
        chunk(png, "IDAT", Arrays.copyOfRange(z, 0, half));
        chunk(png, "IDAT", Arrays.copyOfRange(z, half, z.length));
        chunk(png, "IEND", new byte[0]);
        return png.toByteArray();
    }

    /** The 8-bit scanlines of this image (gray, gray+alpha, RGB or RGBA), for handPng. */
    byte[][] rows() {
        byte[][] rows = new byte[height][width * channels];
        for (int y = 0; y < height; y++) {
            for (int i = 0; i < width * channels; i++) {
                rows[y][i] = (byte) px[y * width * channels + i];
            }
        }
        return rows;
    }

    static int colorType(int channels) {
        return new int[] {0, 0, 4, 2, 6}[channels];
    }

    private static byte[] filterRow(int f, byte[] cur, byte[] prev, int bpp) {
        byte[] out = new byte[cur.length];
        for (int i = 0; i < cur.length; i++) {
            int a = i >= bpp ? cur[i - bpp] & 0xff : 0;
            int b = prev[i] & 0xff;
            int c = i >= bpp ? prev[i - bpp] & 0xff : 0;
            int predictor = switch (f) {
                case 0 -> 0;
                case 1 -> a;
                case 2 -> b;
                case 3 -> (a + b) >> 1;
                default -> paeth(a, b, c);
            };
            out[i] = (byte) ((cur[i] & 0xff) - predictor);
        }
        return out;
    }

    private static int paeth(int a, int b, int c) {
        int p = a + b - c;
        int pa = Math.abs(p - a);
        int pb = Math.abs(p - b);
        int pc = Math.abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    static byte[] deflate(byte[] data) {
        Deflater d = new Deflater(6);
        d.setInput(data);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[65536];
        while (!d.finished()) {
            out.write(buf, 0, d.deflate(buf));
        }
        d.end();
        return out.toByteArray();
    }

    static void chunk(ByteArrayOutputStream png, String type, byte[] data) {
        byte[] len = new byte[4];
        putInt(len, 0, data.length);
        png.writeBytes(len);
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        png.writeBytes(t);
        png.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        byte[] c = new byte[4];
        putInt(c, 0, (int) crc.getValue());
        png.writeBytes(c);
    }

    static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    // ---- reference operations (mirror imageops.c) ----------------------------------------------

    private int colorChannels() {
        return channels == 2 || channels == 4 ? channels - 1 : channels;
    }

    ImageRaster grayscale() {
        if (channels < 3) {
            return this;
        }
        ImageRaster out = new ImageRaster(width, height, channels - 2);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                out.set(x, y, 0, (77 * get(x, y, 0) + 150 * get(x, y, 1) + 29 * get(x, y, 2) + 128) >> 8);
                if (channels == 4) {
                    out.set(x, y, 1, get(x, y, 3));
                }
            }
        }
        return out;
    }

    ImageRaster invert() {
        ImageRaster out = new ImageRaster(width, height, channels);
        for (int i = 0; i < px.length; i++) {
            out.px[i] = i % channels < colorChannels() ? 255 - px[i] : px[i];
        }
        return out;
    }

    /** Each destination pixel (x, y) from source (sx(x, y), sy(x, y)). */
    private ImageRaster remap(int w, int h, java.util.function.IntBinaryOperator sx, java.util.function.IntBinaryOperator sy) {
        ImageRaster out = new ImageRaster(w, h, channels);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < channels; c++) {
                    out.set(x, y, c, get(sx.applyAsInt(x, y), sy.applyAsInt(x, y), c));
                }
            }
        }
        return out;
    }

    ImageRaster flip(char axis) {
        return axis == 'h'
                ? remap(width, height, (x, y) -> width - 1 - x, (x, y) -> y)
                : remap(width, height, (x, y) -> x, (x, y) -> height - 1 - y);
    }

    /** Clockwise. */
    ImageRaster rotate(int degrees) {
        return switch (degrees) {
            case 90 -> remap(height, width, (x, y) -> y, (x, y) -> height - 1 - x);
            case 180 -> remap(width, height, (x, y) -> width - 1 - x, (x, y) -> height - 1 - y);
            case 270 -> remap(height, width, (x, y) -> width - 1 - y, (x, y) -> x);
            default -> throw new IllegalArgumentException("rotate " + degrees);
        };
    }

    ImageRaster crop(int cx, int cy, int w, int h) {
        return remap(w, h, (x, y) -> cx + x, (x, y) -> cy + y);
    }

    /** Bilinear: source position (d + 1/2) * src / dst - 1/2 in 1/256 steps, clamped; {i0, i1, f}. */
    private static int[][] taps(int src, int dst) {
        int[][] t = new int[dst][];
        for (int d = 0; d < dst; d++) {
            long num = (2L * d + 1) * src - dst;
            long pos = num <= 0 ? 0 : num * 256 / (2L * dst);
            int i0 = (int) (pos >> 8);
            int f = (int) (pos & 255);
            if (i0 >= src - 1) {
                i0 = src - 1;
                f = 0;
            }
            t[d] = new int[] {i0, Math.min(i0 + 1, src - 1), f};
        }
        return t;
    }

    ImageRaster resize(int w, int h) {
        int[][] tx = taps(width, w);
        int[][] ty = taps(height, h);
        ImageRaster out = new ImageRaster(w, h, channels);
        for (int y = 0; y < h; y++) {
            int[] t = ty[y];
            for (int x = 0; x < w; x++) {
                int[] s = tx[x];
                for (int c = 0; c < channels; c++) {
                    int top = get(s[0], t[0], c) * (256 - s[2]) + get(s[1], t[0], c) * s[2];
                    int bot = get(s[0], t[1], c) * (256 - s[2]) + get(s[1], t[1], c) * s[2];
                    out.set(x, y, c, (int) (((long) top * (256 - t[2]) + (long) bot * t[2] + 32768) >> 16));
                }
            }
        }
        return out;
    }

    /** The long side becomes n, the short one round(short * n / long) (at least 1); no enlarging. */
    static int[] thumbnailSize(int n, int w, int h) {
        if (w <= n && h <= n) {
            return new int[] {w, h};
        }
        long longer = Math.max(w, h);
        long shorter = Math.min(w, h);
        int s = (int) Math.max(1, (shorter * n + longer / 2) / longer);
        return w >= h ? new int[] {n, s} : new int[] {s, n};
    }

    /** Overlap of destination pixel d ([d*src, (d+1)*src)) with source pixel i ([i*dst, (i+1)*dst)). */
    private static long overlap(int d, int i, int src, int dst) {
        long lo = Math.max((long) d * src, (long) i * dst);
        long hi = Math.min((long) (d + 1) * src, (long) (i + 1) * dst);
        return Math.max(0, hi - lo);
    }

    ImageRaster thumbnail(int n) {
        int[] size = thumbnailSize(n, width, height);
        int w = size[0];
        int h = size[1];
        if (w == width && h == height) {
            return this;
        }
        ImageRaster out = new ImageRaster(w, h, channels);
        long total = (long) width * height;
        for (int y = 0; y < h; y++) {
            int j0 = (int) ((long) y * height / h);
            int j1 = (int) (((long) (y + 1) * height - 1) / h);
            for (int x = 0; x < w; x++) {
                int i0 = (int) ((long) x * width / w);
                int i1 = (int) (((long) (x + 1) * width - 1) / w);
                for (int c = 0; c < channels; c++) {
                    long sum = 0;
                    for (int j = j0; j <= j1; j++) {
                        long wy = overlap(y, j, height, h);
                        for (int i = i0; i <= i1; i++) {
                            sum += wy * overlap(x, i, width, w) * get(i, j, c);
                        }
                    }
                    out.set(x, y, c, (int) ((sum + total / 2) / total));
                }
            }
        }
        return out;
    }

    ImageRaster blur(int r) {
        if (r == 0) {
            return this;
        }
        ImageRaster out = new ImageRaster(width, height, channels);
        int area = (2 * r + 1) * (2 * r + 1);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                for (int c = 0; c < channels; c++) {
                    int sum = 0;
                    for (int dy = -r; dy <= r; dy++) {
                        int yy = Math.max(0, Math.min(height - 1, y + dy));
                        for (int dx = -r; dx <= r; dx++) {
                            sum += get(Math.max(0, Math.min(width - 1, x + dx)), yy, c);
                        }
                    }
                    out.set(x, y, c, (sum + area / 2) / area);
                }
            }
        }
        return out;
    }

    /** Applies a query such as "grayscale&rotate=90&thumbnail=32" (format= is ignored) with the reference ops. */
    ImageRaster apply(String query) {
        ImageRaster img = this;
        for (String field : query.split("&")) {
            String[] kv = field.split("=", 2);
            String v = kv.length > 1 ? kv[1] : "";
            img = switch (kv[0]) {
                case "grayscale" -> img.grayscale();
                case "invert" -> img.invert();
                case "flip" -> img.flip(v.charAt(0));
                case "rotate" -> img.rotate(Integer.parseInt(v));
                case "crop" -> {
                    String[] a = v.split(",");
                    yield img.crop(Integer.parseInt(a[0]), Integer.parseInt(a[1]), Integer.parseInt(a[2]), Integer.parseInt(a[3]));
                }
                case "resize" -> {
                    String[] a = v.split("x");
                    yield img.resize(Integer.parseInt(a[0]), Integer.parseInt(a[1]));
                }
                case "thumbnail" -> img.thumbnail(Integer.parseInt(v));
                case "blur" -> img.blur(Integer.parseInt(v));
                case "format", "" -> img;
                default -> throw new IllegalArgumentException("no reference for " + kv[0]);
            };
        }
        return img;
    }
}
