package io.replicode.replay;

import io.replicode.nat.EventCodec;
import io.replicode.nat.Output;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * What one replica computed, frame by frame: the digest of each frame's outputs, a summary of the bytes
 * it sent per connection, and every K frames the digest of its whole state. Kept beside the log
 * ({@code <data>/<app>/replica-<n>/digests.log}) so that replicas can be compared with each other and
 * with an offline re-execution ({@code replicode replay verify}).
 *
 * <pre>
 * header   magic "RPLCDIG1" (8) | version u16 (1) | reserved u16
 * record   length u32 | crc32c u32 | payload
 * payload  seq i64 | outputsDigest 32 bytes | flags u8 (bit 0: state digest follows) | [stateDigest 32 bytes]
 *          | sends u16 | per send: connection i64 | offset i64 | length u32 | crc32c u32
 * </pre>
 * The log is not fsynced: after a crash its tail is cut like the replay log's, and the replica records
 * again every frame it re-applies past the last record.
 */
public final class DigestLog implements AutoCloseable {
    static final byte[] MAGIC = "RPLCDIG1".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER = 12;
    private static final int MAX_RECORD = 1 << 20;
    private static final int MAX_SENDS = 65_535;

    /** Bytes sent on one connection in one frame: where they start, how many, and their CRC32C. */
    public record SendSummary(long connection, long offset, int length, int crc) {}

    /** One frame as one replica computed it. {@code stateDigest} is null on frames without one. */
    public record FrameDigest(long seq, byte[] outputsDigest, byte[] stateDigest, List<SendSummary> sends) {
        public FrameDigest {
            sends = List.copyOf(sends);
        }

        /** Same outputs (and, where both have one, same state). */
        public boolean agreesWith(FrameDigest other) {
            return seq == other.seq && Arrays.equals(outputsDigest, other.outputsDigest)
                    && (stateDigest == null || other.stateDigest == null || Arrays.equals(stateDigest, other.stateDigest));
        }
    }

    private final Path file;
    private final FileChannel channel;
    private long lastSeq;
    private String tornTail;

    private DigestLog(Path file) throws IOException {
        this.file = file;
        Files.createDirectories(file.getParent());
        boolean fresh = !Files.exists(file) || Files.size(file) < HEADER;
        channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            if (fresh) {
                channel.truncate(0);
                ByteBuffer h = ByteBuffer.allocate(HEADER).put(MAGIC).putShort((short) 1).putShort((short) 0);
                channel.write(h.flip(), 0);
                channel.position(HEADER);
            } else {
                try (Reader r = Reader.open(file)) {
                    while (r.next() != null) {
                        // every record is checked on the way
                    }
                    lastSeq = r.lastSeq();
                    if (r.tornTail() != null) {
                        channel.truncate(r.position());
                        tornTail = "cut torn tail of `" + file + "` at byte " + r.position() + " (" + r.tornTail() + ")";
                    }
                    channel.position(r.position());
                }
            }
        } catch (IOException | RuntimeException e) {
            channel.close(); // a refused log must not keep its file open
            throw e;
        }
    }

    /** Opens (creating) a replica's digest log, cutting a torn tail; corruption before the end is refused. */
    public static DigestLog open(Path file) {
        try {
            return new DigestLog(file);
        } catch (IOException e) {
            throw new UncheckedIOException("digest log `" + file + "` cannot be opened: " + e.getMessage(), e);
        }
    }

    /** The seq of the last recorded frame (0 when none). */
    public long lastSeq() {
        return lastSeq;
    }

    /** What opening cut off, or null. */
    public String tornTail() {
        return tornTail;
    }

    /** Records a frame; frames at or below {@link #lastSeq()} (replayed after a restart) are skipped. */
    public void append(FrameDigest d) {
        if (d.seq() <= lastSeq) {
            return;
        }
        byte[] payload = encode(d);
        ByteBuffer rec = ByteBuffer.allocate(8 + payload.length).putInt(payload.length).putInt(crc(payload)).put(payload);
        try {
            rec.flip();
            while (rec.hasRemaining()) {
                channel.write(rec);
            }
            lastSeq = d.seq();
        } catch (IOException e) {
            throw new UncheckedIOException("digest log `" + file + "` append failed: " + e.getMessage(), e);
        }
    }

    /** Frames from {@code fromSeq}, at most {@code max}. */
    public List<FrameDigest> read(long fromSeq, int max) {
        return readFile(file, fromSeq, max);
    }

    /** Reads a digest log without opening it for writing (for offline tools); corruption is refused. */
    public static List<FrameDigest> readFile(Path file, long fromSeq, int max) {
        List<FrameDigest> out = new ArrayList<>();
        try (Reader r = Reader.open(file)) {
            FrameDigest d;
            while (out.size() < max && (d = r.next()) != null) {
                if (d.seq() >= fromSeq) {
                    out.add(d);
                }
            }
        }
        return out;
    }

    /**
     * Reads a digest log front to back, once (offline tools stream long logs with it). Every record is
     * checked: a record cut short or failing its checksum at the very end is a torn tail (the log is not
     * fsynced) and ends the reading, reported by {@link #tornTail()}; anything else wrong is a
     * {@link LogCorruptedException} naming file and offset.
     */
    public static final class Reader implements AutoCloseable {
        private final Path file;
        private final long size;
        private final java.io.DataInputStream in;
        private long pos = HEADER;
        private long lastSeq;
        private String tornTail;
        private boolean ended;

        private Reader(Path file, long size) throws IOException {
            this.file = file;
            this.size = size;
            this.in = new java.io.DataInputStream(new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16));
            in.skipNBytes(HEADER);
        }

        /** Opens a digest log for reading; a bad header is a {@link LogCorruptedException}. */
        public static Reader open(Path file) {
            try {
                long size;
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    checkHeader(ch, file);
                    size = ch.size();
                }
                return new Reader(file, size);
            } catch (IOException e) {
                throw new UncheckedIOException("digest log `" + file + "` cannot be read: " + e.getMessage(), e);
            }
        }

        public Path file() {
            return file;
        }

        /** The next record, or null at the end of the log (or at a torn tail). */
        public FrameDigest next() {
            if (ended) {
                return null;
            }
            try {
                if (pos == size) {
                    return end(null);
                }
                if (size - pos < 8) {
                    return end("a record header of " + (size - pos) + " bytes");
                }
                int len = in.readInt();
                int crc = in.readInt();
                if (len <= 0 || len > MAX_RECORD) {
                    throw corrupt(file, pos, "record length " + Integer.toUnsignedString(len));
                }
                if (pos + 8 + len > size) {
                    return end("a record of " + len + " bytes, partly written");
                }
                byte[] payload = new byte[len];
                in.readFully(payload);
                if (crc(payload) != crc) {
                    if (pos + 8 + len == size) {
                        return end("a last record whose checksum does not match");
                    }
                    throw corrupt(file, pos, "record checksum mismatch");
                }
                FrameDigest d = decode(payload, file, pos);
                if (d.seq() <= lastSeq) {
                    throw corrupt(file, pos, "frame " + d.seq() + " after frame " + lastSeq);
                }
                pos += 8 + len;
                lastSeq = d.seq();
                return d;
            } catch (java.io.EOFException e) {
                // The file shrank while being read (its replica cut a torn tail): what was read stands.
                return end("the file ended while reading");
            } catch (IOException e) {
                throw new UncheckedIOException("digest log `" + file + "` cannot be read: " + e.getMessage(), e);
            }
        }

        private FrameDigest end(String torn) {
            ended = true;
            tornTail = torn;
            return null;
        }

        /** Byte offset just after the last good record. */
        public long position() {
            return pos;
        }

        /** Seq of the last record read (0 before any). */
        public long lastSeq() {
            return lastSeq;
        }

        /** Why reading stopped before the end of the file, or null. */
        public String tornTail() {
            return tornTail;
        }

        @Override
        public void close() {
            try {
                in.close();
            } catch (IOException e) {
                throw new UncheckedIOException("digest log `" + file + "` close failed", e);
            }
        }
    }

    private static void checkHeader(FileChannel ch, Path file) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(HEADER);
        ch.read(h, 0);
        h.flip();
        byte[] magic = new byte[8];
        if (h.remaining() < HEADER) {
            throw corrupt(file, 0, "header cut short");
        }
        h.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw corrupt(file, 0, "header mismatch: not a Replicode digest log (bad magic)");
        }
        int version = h.getShort() & 0xFFFF;
        if (version != 1) {
            throw corrupt(file, 8, "digest log version " + version + " is not supported");
        }
    }

    /** The record payload of a frame digest (also the body of live digest messages). */
    public static byte[] encode(FrameDigest d) {
        int size = 8 + 32 + 1 + (d.stateDigest() == null ? 0 : 32) + 2 + 24 * d.sends().size();
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putLong(d.seq()).put(d.outputsDigest()).put((byte) (d.stateDigest() == null ? 0 : 1));
        if (d.stateDigest() != null) {
            b.put(d.stateDigest());
        }
        b.putShort((short) d.sends().size());
        for (SendSummary s : d.sends()) {
            b.putLong(s.connection()).putLong(s.offset()).putInt(s.length()).putInt(s.crc());
        }
        return b.array();
    }

    /** Decodes a record payload; {@code file} and {@code at} only name where it came from in errors. */
    public static FrameDigest decode(byte[] payload, Path file, long at) {
        ByteBuffer b = ByteBuffer.wrap(payload);
        try {
            long seq = b.getLong();
            byte[] outputs = new byte[32];
            b.get(outputs);
            int flags = b.get();
            byte[] state = null;
            if ((flags & 1) != 0) {
                state = new byte[32];
                b.get(state);
            }
            int n = b.getShort() & 0xFFFF;
            if (n * 24L != b.remaining()) {
                throw corrupt(file, at, n + " send summaries do not fill the record");
            }
            List<SendSummary> sends = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                sends.add(new SendSummary(b.getLong(), b.getLong(), b.getInt(), b.getInt()));
            }
            return new FrameDigest(seq, outputs, state, sends);
        } catch (BufferUnderflowException e) {
            throw corrupt(file, at, "record cut short");
        }
    }

    /** The digest of one frame's outputs, and the per-connection summary of what it sent. */
    public static FrameDigest of(long seq, List<Output> outputs, byte[] stateDigest) {
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(EventCodec.encodeOutputs(outputs));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        List<SendSummary> sends = new ArrayList<>();
        for (Output o : outputs) {
            if (o instanceof Output.Send s && sends.size() < MAX_SENDS) {
                CRC32C c = new CRC32C();
                c.update(s.bytes());
                sends.add(new SendSummary(s.connection(), s.offset(), s.bytes().length, (int) c.getValue()));
            }
        }
        return new FrameDigest(seq, digest, stateDigest, sends);
    }

    private static LogCorruptedException corrupt(Path file, long offset, String what) {
        return new LogCorruptedException(file, offset, what,
                "delete the digest log; the replica records it again from its next frame, and `replay verify` "
                        + "can still compare against the other replicas");
    }

    static int crc(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b);
        return (int) c.getValue();
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("digest log `" + file + "` close failed", e);
        }
    }
}
