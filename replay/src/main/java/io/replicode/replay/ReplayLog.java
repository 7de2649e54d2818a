package io.replicode.replay;

import io.replicode.nat.CodecException;
import io.replicode.nat.Frame;
import io.replicode.nat.FrameCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * The durable, ordered log of one app's frames: append-only segments on disk.
 *
 * <pre>
 * segment file  &lt;dir&gt;/&lt;first seq, 20 digits&gt;.log
 *   header
 *     0  magic      8 bytes  "RPLCLOG1"
 *     8  version    u16      1
 *    10  reserved   u16      0
 *    12  firstSeq   i64      seq of the segment's first record (equals the file name)
 *    20  appLength  u16      1..64
 *    22  app        UTF-8
 *     .  headerCrc  u32      CRC32C of all header bytes before it
 *   records, each
 *     0  length     u32      payload bytes, 1..maxRecordBytes
 *     4  crc        u32      CRC32C of the payload
 *     8  payload    a frame (FrameCodec)
 * </pre>
 *
 * <p>Opening a log checks every record: lengths before allocating, CRCs, consecutive seqs and the hash
 * chain. A record cut short or unreadable at the very end of the newest segment is a torn write from a
 * crash: it is cut off and reported in {@link #recovery()}. Anything wrong before the end is corruption:
 * opening fails with a {@link LogCorruptedException} naming the file and offset, never skipping it.
 *
 * <p>Appends are made by one writer thread. With {@link FsyncPolicy#ALWAYS} the future of an append
 * completes once the bytes are forced to disk; concurrent appends share one force (group commit).
 */
public final class ReplayLog implements AutoCloseable {
    static final byte[] MAGIC = "RPLCLOG1".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int RECORD_HEADER = 8;

    /** When appends reach the disk. */
    public enum FsyncPolicy {
        /** Every append's future completes after fsync; appends waiting together share one fsync. */
        ALWAYS,
        /** Appends complete once written; a background fsync runs every {@code fsyncIntervalMs}. */
        INTERVAL,
        /** Appends complete once written; the OS decides when to flush. */
        NEVER
    }

    /**
     * @param segmentBytes   a segment is closed and a new one started past this size
     * @param maxRecordBytes largest encoded frame; a larger length field is corruption
     * @param fsync          durability policy
     * @param fsyncIntervalMs period of the background fsync for {@link FsyncPolicy#INTERVAL}
     */
    public record Options(long segmentBytes, int maxRecordBytes, FsyncPolicy fsync, long fsyncIntervalMs) {
        public static final Options DEFAULT = new Options(64L << 20, 32 << 20, FsyncPolicy.ALWAYS, 100);

        public Options {
            if (segmentBytes < 4096 || maxRecordBytes < 64 || maxRecordBytes > (1 << 30) || fsyncIntervalMs < 1) {
                throw new IllegalArgumentException("replay log options out of range: " + this);
            }
        }

        public Options withFsync(FsyncPolicy p) {
            return new Options(segmentBytes, maxRecordBytes, p, fsyncIntervalMs);
        }

        public Options withSegmentBytes(long bytes) {
            return new Options(bytes, maxRecordBytes, fsync, fsyncIntervalMs);
        }
    }

    /** What opening the log found and did. */
    public record Recovery(long frames, long firstSeq, long lastSeq, String tornTail) {}

    /** One segment: its file, first seq, and a sparse index of record offsets. */
    private static final class Segment {
        final Path file;
        final long firstSeq;
        long lastSeq;
        long size;
        /** Offsets of every INDEX_EVERY-th record, starting with the first. */
        long[] index = new long[16];
        int indexed;

        Segment(Path file, long firstSeq) {
            this.file = file;
            this.firstSeq = firstSeq;
            this.lastSeq = firstSeq - 1;
        }

        void noteRecord(long seq, long offset) {
            if ((seq - firstSeq) % INDEX_EVERY == 0) {
                if (indexed == index.length) {
                    index = Arrays.copyOf(index, indexed * 2);
                }
                index[indexed++] = offset;
            }
            lastSeq = seq;
        }
    }

    private static final int INDEX_EVERY = 64;

    private final Path dir;
    private final String app;
    private final Options options;
    private final List<Segment> segments = new ArrayList<>();
    private final Recovery recovery;
    private final Object lock = new Object();
    private final boolean readOnly;
    private FileChannel writer;
    private byte[] lastHash;
    private long lastSeq;
    private boolean closed;

    // group commit
    private final ArrayDeque<CompletableFuture<Void>> unsynced = new ArrayDeque<>();
    private final Thread flusher;

    private ReplayLog(Path dir, String app, Options options, boolean readOnly) throws IOException {
        this.dir = dir;
        this.app = app;
        this.options = options;
        this.readOnly = readOnly;
        if (readOnly) {
            if (!Files.isDirectory(dir)) {
                throw new IOException("there is no log directory " + dir);
            }
            this.recovery = recover();
            if (segments.isEmpty()) {
                throw new IOException("the log directory " + dir + " holds no segment");
            }
            flusher = null;
            return;
        }
        Files.createDirectories(dir);
        this.recovery = recover();
        if (segments.isEmpty()) {
            startSegment(1);
        } else {
            Segment last = segments.get(segments.size() - 1);
            writer = FileChannel.open(last.file, StandardOpenOption.WRITE);
            writer.position(last.size);
            allocatedTo = writer.size();
        }
        if (options.fsync() == FsyncPolicy.NEVER) {
            flusher = null;
        } else {
            flusher = new Thread(this::flushLoop, "replicode-log-" + app);
            flusher.setDaemon(true);
            flusher.start();
        }
    }

    /**
     * Opens (creating if needed) the log of {@code app} in {@code dir}, checking every record and cutting
     * a torn tail. Corruption anywhere else fails with a {@link LogCorruptedException}.
     */
    public static ReplayLog open(Path dir, String app, Options options) {
        try {
            return new ReplayLog(dir, app, options, false);
        } catch (IOException e) {
            throw new UncheckedIOException("replay log open on `" + dir + "` failed: " + e.getMessage(), e);
        }
    }

    /**
     * Opens an existing log for reading only (offline tools): every record is checked as by {@link #open},
     * but nothing is written, a torn tail is reported and ignored rather than cut, and appends are refused.
     * Safe on the directory of a running node.
     */
    public static ReplayLog openReadOnly(Path dir, String app) {
        try {
            return new ReplayLog(dir, app, Options.DEFAULT, true);
        } catch (IOException e) {
            throw new UncheckedIOException("replay log open on `" + dir + "` failed: " + e.getMessage(), e);
        }
    }

    public Recovery recovery() {
        return recovery;
    }

    /** Seq of the newest frame, 0 when empty. */
    public long lastSeq() {
        synchronized (lock) {
            return lastSeq;
        }
    }

    /** Seq of the oldest frame kept (after retention), or lastSeq + 1 when empty. */
    public long firstSeq() {
        synchronized (lock) {
            return segments.get(0).firstSeq;
        }
    }

    /** Hash of the newest frame: the {@code prevHash} the next frame must carry. */
    public byte[] lastHash() {
        synchronized (lock) {
            return lastHash.clone();
        }
    }

    /**
     * Appends the next frame. Its seq must be {@link #lastSeq()} + 1 and its prevHash {@link #lastHash()};
     * the future completes when the frame is durable under the log's fsync policy.
     */
    public CompletableFuture<Void> append(Frame frame) {
        return append(frame, FrameCodec.encode(frame));
    }

    /** As {@link #append(Frame)}, with the frame's encoding already at hand ({@link FrameCodec#encode}). */
    public CompletableFuture<Void> append(Frame frame, byte[] payload) {
        if (payload.length > options.maxRecordBytes()) {
            throw new IllegalArgumentException("frame " + frame.seq() + " encodes to " + payload.length
                    + " bytes, above the log's record limit of " + options.maxRecordBytes());
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        synchronized (lock) {
            if (readOnly) {
                throw new IllegalStateException("replay log of '" + app + "' was opened read-only");
            }
            if (closed) {
                throw new IllegalStateException("replay log of '" + app + "' is closed");
            }
            if (!frame.app().equals(app)) {
                throw new IllegalArgumentException("frame of app '" + frame.app() + "' appended to the log of '" + app + "'");
            }
            if (frame.seq() != lastSeq + 1) {
                throw new IllegalArgumentException("log of '" + app + "' expects seq " + (lastSeq + 1) + ", got " + frame.seq());
            }
            if (!Arrays.equals(frame.prevHash(), lastHash)) {
                throw new IllegalArgumentException("frame " + frame.seq() + " does not chain to frame " + lastSeq
                        + " (prevHash differs)");
            }
            try {
                Segment seg = segments.get(segments.size() - 1);
                if (seg.size + RECORD_HEADER + payload.length > options.segmentBytes() && seg.lastSeq >= seg.firstSeq) {
                    rollSegment(frame.seq());
                    seg = segments.get(segments.size() - 1);
                }
                ByteBuffer rec = ByteBuffer.allocate(RECORD_HEADER + payload.length);
                rec.putInt(payload.length).putInt(crc(payload)).put(payload).flip();
                long offset = seg.size;
                preallocate(offset + rec.remaining());
                while (rec.hasRemaining()) {
                    writer.write(rec);
                }
                seg.size += RECORD_HEADER + payload.length;
                seg.noteRecord(frame.seq(), offset);
                lastSeq = frame.seq();
                lastHash = FrameCodec.hash(payload);
            } catch (IOException e) {
                throw new UncheckedIOException("replay log append of frame " + frame.seq() + " to `" + dir + "` failed: "
                        + e.getMessage() + ". Fix: check the disk (space, permissions); the node cannot accept writes", e);
            }
            if (options.fsync() == FsyncPolicy.ALWAYS) {
                unsynced.add(done);
                lock.notifyAll();
            } else {
                done.complete(null);
            }
        }
        return done;
    }

    /**
     * Starts the log over at {@code frame}, a frame later than the next one expected: every segment is removed
     * and a new one begins with this frame (its prevHash is taken as the hash of the frame before it). A member
     * that joins a cluster from a peer's snapshot at frame S keeps its history from S on this way. Returns when
     * the frame is durable under the log's fsync policy. Old segments are deleted before the new one is written,
     * so a crash in between leaves an empty log, never one with a hole.
     */
    public CompletableFuture<Void> restartWith(Frame frame, byte[] payload) {
        synchronized (lock) {
            if (readOnly || closed) {
                throw new IllegalStateException("replay log of '" + app + "' is " + (readOnly ? "read-only" : "closed"));
            }
            if (frame.seq() <= lastSeq + 1) {
                throw new IllegalArgumentException("restartWith takes a frame after " + (lastSeq + 1) + ", got " + frame.seq()
                        + "; append it instead");
            }
            try {
                writer.force(false);
                writer.close();
                completeAll(null);
                for (Segment s : segments) {
                    Files.deleteIfExists(s.file);
                }
                segments.clear();
                startSegment(frame.seq());
            } catch (IOException e) {
                throw new UncheckedIOException("replay log restart of `" + dir + "` at frame " + frame.seq() + " failed: "
                        + e.getMessage() + ". Fix: check the disk (space, permissions)", e);
            }
            lastSeq = frame.seq() - 1;
            lastHash = frame.prevHash().clone();
        }
        return append(frame, payload);
    }

    /**
     * Forces every frame appended so far to disk, whatever the fsync policy: a cluster member keeps its log
     * without fsync (its Raft log is the durable copy) and calls this before it names a frame in a snapshot.
     */
    public void sync() {
        synchronized (lock) {
            if (writer == null || closed || readOnly) {
                return;
            }
            try {
                writer.force(false);
            } catch (IOException e) {
                throw new UncheckedIOException("replay log fsync of `" + dir + "` failed: " + e.getMessage()
                        + ". Fix: check the disk (space, permissions)", e);
            }
        }
    }

    /** Frames from {@code fromSeq} on, at most {@code max}, in order; fewer when the log ends first. */
    public List<Frame> read(long fromSeq, int max) {
        List<Frame> out = new ArrayList<>();
        Segment seg;
        long size;
        long start;
        synchronized (lock) {
            if (fromSeq < segments.get(0).firstSeq) {
                throw new IllegalArgumentException("frames before " + segments.get(0).firstSeq + " of '" + app
                        + "' were removed by retention; asked for " + fromSeq + ". Fix: start from a snapshot");
            }
            int i = segments.size() - 1;
            while (i > 0 && segments.get(i).firstSeq > fromSeq) {
                i--;
            }
            seg = segments.get(i);
            if (fromSeq > lastSeq) {
                return out;
            }
            size = seg.size;
            int slot = (int) Math.min((fromSeq - seg.firstSeq) / INDEX_EVERY, seg.indexed - 1);
            start = seg.index[slot];
        }
        long seq = fromSeq;
        while (out.size() < max) {
            if (!readSegment(seg, start, size, seq, max, out)) {
                break;
            }
            seq = out.isEmpty() ? seq : out.get(out.size() - 1).seq() + 1;
            synchronized (lock) {
                int idx = segments.indexOf(seg);
                if (idx < 0 || idx + 1 >= segments.size() || seq > lastSeq) {
                    break;
                }
                seg = segments.get(idx + 1);
                size = seg.size;
                start = headerSize();
            }
        }
        return out;
    }

    /** Reads records of one segment between start and size, keeping those with seq >= fromSeq. */
    private boolean readSegment(Segment seg, long start, long size, long fromSeq, int max, List<Frame> out) {
        try (FileChannel ch = FileChannel.open(seg.file, StandardOpenOption.READ)) {
            long pos = start;
            ByteBuffer head = ByteBuffer.allocate(RECORD_HEADER);
            while (pos < size && out.size() < max) {
                head.clear();
                readFully(ch, head, pos);
                head.flip();
                int len = head.getInt();
                head.getInt();
                ByteBuffer payload = ByteBuffer.allocate(len);
                readFully(ch, payload, pos + RECORD_HEADER);
                Frame f = FrameCodec.decode(payload.array());
                if (f.seq() >= fromSeq) {
                    out.add(f);
                }
                pos += RECORD_HEADER + len;
            }
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("replay log read of `" + seg.file + "` failed: " + e.getMessage(), e);
        }
    }

    /**
     * Removes whole segments whose frames all precede {@code seq} (retention: frames older than the oldest
     * kept snapshot). The newest segment is always kept. Returns the number of frames removed.
     */
    public long retainFrom(long seq) {
        long removed = 0;
        synchronized (lock) {
            while (segments.size() > 1 && segments.get(1).firstSeq <= seq) {
                Segment s = segments.remove(0);
                removed += s.lastSeq - s.firstSeq + 1;
                try {
                    Files.deleteIfExists(s.file);
                } catch (IOException e) {
                    throw new UncheckedIOException("replay log retention could not delete `" + s.file + "`", e);
                }
            }
        }
        return removed;
    }

    /** Bytes on disk over all segments. */
    public long sizeBytes() {
        synchronized (lock) {
            long total = 0;
            for (Segment s : segments) {
                total += s.size;
            }
            return total;
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            lock.notifyAll();
        }
        if (flusher != null) {
            try {
                flusher.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (lock) {
            if (writer == null) {
                return;
            }
            try {
                // A log closed cleanly ends at its last record (no preallocated tail).
                writer.truncate(segments.get(segments.size() - 1).size);
                writer.force(true);
                writer.close();
            } catch (IOException e) {
                throw new UncheckedIOException("replay log close of `" + dir + "` failed", e);
            }
            completeAll(null);
        }
    }

    // ---- group commit ----

    /** fsyncs made by the group-commit thread so far: each makes durable every frame appended before it began. */
    public long groupSyncs() {
        return groupSyncs.get();
    }

    private final java.util.concurrent.atomic.AtomicLong groupSyncs = new java.util.concurrent.atomic.AtomicLong();

    private void flushLoop() {
        while (true) {
            List<CompletableFuture<Void>> batch;
            FileChannel ch;
            synchronized (lock) {
                try {
                    if (options.fsync() == FsyncPolicy.ALWAYS) {
                        while (unsynced.isEmpty() && !closed) {
                            lock.wait();
                        }
                    } else {
                        lock.wait(options.fsyncIntervalMs());
                    }
                } catch (InterruptedException e) {
                    return;
                }
                if (closed) {
                    return;
                }
                batch = new ArrayList<>(unsynced);
                unsynced.clear();
                ch = writer;
            }
            Throwable failure = null;
            groupSyncs.incrementAndGet();
            try {
                ch.force(false);
            } catch (IOException e) {
                failure = new UncheckedIOException("replay log fsync of `" + dir + "` failed: " + e.getMessage(), e);
            } catch (RuntimeException e) {
                // The segment rolled and its channel closed after forcing: those appends are durable.
                failure = null;
            }
            for (CompletableFuture<Void> f : batch) {
                if (failure == null) {
                    f.complete(null);
                } else {
                    f.completeExceptionally(failure);
                }
            }
        }
    }

    private void completeAll(Throwable failure) {
        for (CompletableFuture<Void> f : unsynced) {
            if (failure == null) {
                f.complete(null);
            } else {
                f.completeExceptionally(failure);
            }
        }
        unsynced.clear();
    }

    // ---- segments ----

    private void rollSegment(long nextSeq) throws IOException {
        // Only the newest segment has a preallocated tail: a full one ends at its last record.
        writer.truncate(segments.get(segments.size() - 1).size);
        writer.force(true);
        writer.close();
        completeAll(null);
        startSegment(nextSeq);
    }

    private void startSegment(long firstSeq) throws IOException {
        Path file = dir.resolve(String.format("%020d.log", firstSeq));
        byte[] header = header(firstSeq);
        writer = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        writer.write(ByteBuffer.wrap(header));
        writer.force(true);
        allocatedTo = header.length;
        Segment s = new Segment(file, firstSeq);
        s.size = header.length;
        segments.add(s);
        if (lastHash == null) {
            lastHash = Frame.GENESIS_HASH.clone();
        }
        syncDirectory();
    }

    /** Bytes of zeros a segment is extended by ahead of its records (see {@link #preallocate}). */
    static final int PREALLOCATE_BYTES = 4 << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 << 10);
    /** Length of the writer's file: its records, then zeros not yet written over. */
    private long allocatedTo;

    /**
     * Makes the writer's file at least {@code end} bytes long, {@link #PREALLOCATE_BYTES} at a time, zero-filled, with
     * its new length forced to disk once. An append then changes no file metadata, so its fsync flushes the record's
     * data alone: appending at the end of the file made every fsync commit the filesystem's journal, which also held
     * the other files' appends (digest logs, snapshots), and it took 0.7 ms on average, 3.3 ms at p99, under
     * redis-benchmark -c 50; most of a frame's time. Recovery ends the records at the first all-zero header.
     */
    private void preallocate(long end) throws IOException {
        if (end <= allocatedTo) {
            return;
        }
        long target = Math.max(end, allocatedTo + PREALLOCATE_BYTES);
        long pos = allocatedTo;
        while (pos < target) {
            ByteBuffer z = ZEROS.duplicate();
            z.limit((int) Math.min(z.capacity(), target - pos));
            pos += writer.write(z, pos);
        }
        writer.force(true);
        allocatedTo = target;
    }

    private byte[] header(long firstSeq) {
        byte[] appBytes = app.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(headerSize());
        b.put(MAGIC).putShort((short) VERSION).putShort((short) 0).putLong(firstSeq).putShort((short) appBytes.length)
                .put(appBytes);
        CRC32C c = new CRC32C();
        c.update(b.array(), 0, b.position());
        b.putInt((int) c.getValue());
        return b.array();
    }

    private int headerSize() {
        return 8 + 2 + 2 + 8 + 2 + app.getBytes(StandardCharsets.UTF_8).length + 4;
    }

    private void syncDirectory() {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // Some filesystems cannot fsync a directory; the file itself was forced.
        }
    }

    // ---- recovery ----

    /** What recovery carries from one segment to the next. */
    private static final class Scan {
        long frames;
        /** The hash of the last intact frame, or null before the first. */
        byte[] prevHash;
        /** The seq the next segment must start at, or -1 before the first segment. */
        long expectSeq = -1;
        /** What was cut off the newest segment (a crash mid-write), or null. */
        String torn;
    }

    /**
     * Reads every segment in order and checks it record by record. Only the end of the newest segment may be torn
     * (a crash mid-write): it is cut off and said in {@link Recovery#torn}. Anything wrong before that is corruption.
     */
    private Recovery recover() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().matches("\\d{20}\\.log")).sorted().toList();
        }
        Scan scan = new Scan();
        for (int i = 0; i < files.size(); i++) {
            Path file = files.get(i);
            boolean newest = i == files.size() - 1;
            long fileSize = Files.size(file);
            if (fileSize < headerSize()) {
                if (!newest) {
                    throw corrupt(file, fileSize, "segment cut short inside its " + headerSize() + "-byte header");
                }
                // Created but never completed: a crash while starting the segment.
                if (!readOnly) {
                    Files.delete(file);
                }
                scan.torn = (readOnly ? "ignored" : "removed") + " incomplete segment `" + file + "` (" + fileSize + " bytes)";
                break;
            }
            Segment seg = scanSegment(file, fileSize, newest, scan);
            if (seg.lastSeq < seg.firstSeq && !newest) {
                throw corrupt(file, headerSize(), "segment holds no records but is not the newest");
            }
            segments.add(seg);
            scan.expectSeq = seg.lastSeq + 1;
        }
        if (!segments.isEmpty()) {
            Segment last = segments.get(segments.size() - 1);
            lastSeq = last.lastSeq;
            // No frame at all after retention (an empty newest segment): the chain continues from an unknown frame.
            lastHash = scan.prevHash != null ? scan.prevHash : Frame.GENESIS_HASH.clone();
            if (last.lastSeq < last.firstSeq && segments.size() == 1 && last.firstSeq != 1) {
                lastSeq = last.firstSeq - 1;
            }
        }
        long first = segments.isEmpty() ? 1 : segments.get(0).firstSeq;
        return new Recovery(scan.frames, first, lastSeq, scan.torn);
    }

    /** Checks one segment's header and records; a torn tail of the newest is cut and noted in {@code scan}. */
    private Segment scanSegment(Path file, long fileSize, boolean newest, Scan scan) throws IOException {
        long nameSeq = Long.parseLong(file.getFileName().toString().substring(0, 20));
        Segment seg = new Segment(file, nameSeq);
        try (FileChannel ch = readOnly ? FileChannel.open(file, StandardOpenOption.READ)
                : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            checkHeader(ch, file, nameSeq);
            if (scan.expectSeq >= 0 && nameSeq != scan.expectSeq) {
                throw corrupt(file, 0, "segment starts at seq " + nameSeq + " but the previous one ended at " + (scan.expectSeq - 1));
            }
            long pos = headerSize();
            ByteBuffer head = ByteBuffer.allocate(RECORD_HEADER);
            while (pos < fileSize) {
                long next = scanRecord(ch, file, fileSize, newest, seg, pos, head, scan);
                if (next < 0) {
                    break;
                }
                pos = next;
            }
            seg.size = Math.min(pos, Files.size(file));
        }
        return seg;
    }

    /**
     * Checks the record at {@code pos} and notes its frame in {@code seg}; returns the position after it, or -1 when
     * it was the torn tail of the newest segment (then cut off, and said in {@code scan.torn}).
     */
    private long scanRecord(FileChannel ch, Path file, long fileSize, boolean newest, Segment seg, long pos, ByteBuffer head,
                            Scan scan) throws IOException {
        long remaining = fileSize - pos;
        if (remaining < RECORD_HEADER) {
            if (!newest) {
                throw corrupt(file, pos, "record header cut short (" + remaining + " bytes)");
            }
            scan.torn = cut(ch, file, pos, "a record header of " + remaining + " bytes");
            return -1;
        }
        head.clear();
        readFully(ch, head, pos);
        head.flip();
        int len = head.getInt();
        int crc = head.getInt();
        if (len == 0 && crc == 0 && newest) {
            // The preallocated tail (see preallocate): the records end here. Cut, so the next append extends again.
            cutQuietly(ch, pos);
            return -1;
        }
        if ((len <= 0 || len > options.maxRecordBytes()) && newest && zerosFrom(ch, pos + RECORD_HEADER, fileSize)) {
            // A header torn mid-write, before the preallocated zeros: nothing after it was written.
            scan.torn = cut(ch, file, pos, "a record header torn mid-write");
            return -1;
        }
        if (len <= 0 || len > options.maxRecordBytes()) {
            throw corrupt(file, pos, "record length " + Integer.toUnsignedString(len) + " outside 1.." + options.maxRecordBytes());
        }
        if (RECORD_HEADER + (long) len > remaining) {
            if (!newest || validRecordFollows(ch, pos + RECORD_HEADER, fileSize, seg.lastSeq + 1)) {
                // A torn write only ever damages the last record: intact records after this one
                // mean its length field was corrupted, and cutting would lose acknowledged frames.
                throw corrupt(file, pos, "record of " + len + " bytes runs past the end of the segment");
            }
            scan.torn = cut(ch, file, pos, "a record of " + len + " bytes with " + (remaining - RECORD_HEADER) + " written");
            return -1;
        }
        ByteBuffer payload = ByteBuffer.allocate(len);
        readFully(ch, payload, pos + RECORD_HEADER);
        byte[] bytes = payload.array();
        if (crc(bytes) != crc) {
            if (newest && zerosFrom(ch, pos + RECORD_HEADER + len, fileSize)) {
                scan.torn = cut(ch, file, pos, "a last record whose checksum does not match");
                return -1;
            }
            throw corrupt(file, pos, "record checksum mismatch");
        }
        checkFrame(file, pos, bytes, seg, scan);
        seg.noteRecord(seg.lastSeq + 1, pos);
        scan.prevHash = FrameCodec.hash(bytes);
        scan.frames++;
        return pos + RECORD_HEADER + len;
    }

    /** An intact record must hold the next frame of this app, naming its predecessor's hash. */
    private void checkFrame(Path file, long pos, byte[] bytes, Segment seg, Scan scan) {
        Frame f;
        try {
            f = FrameCodec.decode(bytes);
        } catch (CodecException e) {
            throw corrupt(file, pos, "record does not decode as a frame: " + e.getMessage());
        }
        long want = seg.lastSeq + 1;
        if (f.seq() != want) {
            throw corrupt(file, pos, "frame seq " + f.seq() + " where " + want + " was expected");
        }
        if (!f.app().equals(app)) {
            throw corrupt(file, pos, "frame of app '" + f.app() + "' in the log of '" + app + "'");
        }
        if (scan.prevHash != null && !Arrays.equals(scan.prevHash, f.prevHash())) {
            throw corrupt(file, pos, "hash chain broken at seq " + f.seq()
                    + ": the frame does not name its predecessor (edited, reordered or cut log)");
        }
    }

    /**
     * Whether an intact record for a frame after {@code expectSeq - 1} starts anywhere in [from, end). Cheap
     * checks on the frame's fixed prefix (version, app name) come before the checksum, so the scan is fast.
     */
    private boolean validRecordFollows(FileChannel ch, long from, long end, long expectSeq) throws IOException {
        long window = Math.min(end - from, (long) options.maxRecordBytes() + RECORD_HEADER);
        if (window <= RECORD_HEADER) {
            return false;
        }
        ByteBuffer buf = ByteBuffer.allocate((int) window);
        readFully(ch, buf, from);
        byte[] b = buf.array();
        byte[] appBytes = app.getBytes(StandardCharsets.UTF_8);
        for (int off = 0; off + RECORD_HEADER + 2 + appBytes.length <= b.length; off++) {
            if (b[off + RECORD_HEADER] != FrameCodec.VERSION || (b[off + RECORD_HEADER + 1] & 0xFF) != appBytes.length) {
                continue;
            }
            int len = ByteBuffer.wrap(b, off, 4).getInt();
            if (len <= 0 || off + RECORD_HEADER + (long) len > b.length) {
                continue;
            }
            byte[] payload = Arrays.copyOfRange(b, off + RECORD_HEADER, off + RECORD_HEADER + len);
            if (crc(payload) == ByteBuffer.wrap(b, off + 4, 4).getInt()) {
                try {
                    if (FrameCodec.decode(payload).seq() >= expectSeq) {
                        return true;
                    }
                } catch (CodecException ignored) {
                    // Not a frame after all; keep looking.
                }
            }
        }
        return false;
    }

    private void checkHeader(FileChannel ch, Path file, long nameSeq) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(headerSize());
        readFully(ch, h, 0);
        h.flip();
        byte[] magic = new byte[8];
        h.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw corrupt(file, 0, "header mismatch: not a Replicode log segment (bad magic)");
        }
        int version = h.getShort() & 0xFFFF;
        if (version != VERSION) {
            throw new LogCorruptedException(file, 8, "header mismatch: log format version " + version
                    + ", this build reads " + VERSION, "run the Replicode version that wrote this log, or start from a fresh data directory");
        }
        h.getShort();
        long seq = h.getLong();
        int appLen = h.getShort() & 0xFFFF;
        byte[] appBytes = new byte[Math.min(appLen, h.remaining())];
        h.get(appBytes);
        String headerApp = new String(appBytes, StandardCharsets.UTF_8);
        if (!headerApp.equals(app) || seq != nameSeq) {
            throw corrupt(file, 12, "header names app '" + headerApp + "' seq " + seq + ", expected '" + app + "' seq " + nameSeq);
        }
        int crc = h.getInt();
        CRC32C c = new CRC32C();
        c.update(h.array(), 0, headerSize() - 4);
        if ((int) c.getValue() != crc) {
            throw corrupt(file, headerSize() - 4, "header checksum mismatch");
        }
    }

    /** Whether the bytes of {@code ch} from {@code pos} to {@code end} are all zero (nothing was written there). */
    private static boolean zerosFrom(FileChannel ch, long pos, long end) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(64 << 10);
        while (pos < end) {
            b.clear();
            b.limit((int) Math.min(b.capacity(), end - pos));
            readFully(ch, b, pos);
            for (int i = 0; i < b.limit(); i++) {
                if (b.get(i) != 0) {
                    return false;
                }
            }
            pos += b.limit();
        }
        return true;
    }

    /** Cuts a preallocated (all-zero) tail: nothing was lost, so nothing is reported. */
    private void cutQuietly(FileChannel ch, long pos) throws IOException {
        if (!readOnly) {
            ch.truncate(pos);
            ch.force(true);
        }
    }

    private String cut(FileChannel ch, Path file, long pos, String what) throws IOException {
        if (readOnly) {
            return "ignored torn tail of `" + file + "` from byte " + pos + " (" + what + "; read-only, not cut)";
        }
        ch.truncate(pos);
        ch.force(true);
        return "cut torn tail of `" + file + "` at byte " + pos + " (" + what + ")";
    }

    private static LogCorruptedException corrupt(Path file, long offset, String what) {
        return new LogCorruptedException(file, offset, what,
                "restore the data directory from a healthy replica, or move the damaged segment away and rejoin from a snapshot");
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        long p = pos;
        while (b.hasRemaining()) {
            int n = ch.read(b, p);
            if (n < 0) {
                throw new IOException("unexpected end of file at " + p);
            }
            p += n;
        }
    }

    static int crc(byte[] bytes) {
        CRC32C c = new CRC32C();
        c.update(bytes);
        return (int) c.getValue();
    }
}
