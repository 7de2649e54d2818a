package io.replicode.launcher.replay;

import io.replicode.replay.DigestLog;
import io.replicode.replay.DigestLog.FrameDigest;
import io.replicode.replay.LogCorruptedException;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * One replica's digest log read front to back, once: {@link DigestLog#readFile} rescans the file from its
 * start on every call, which is quadratic over a long log. Records use {@link DigestLog}'s framing
 * ({@code length u32 | crc32c u32 | payload}, after a 12-byte header it checks) and its decoder. A record
 * cut short or failing its checksum at the very end is a torn tail (the digest log is not fsynced): the
 * record ends there. Anything else wrong is corruption, reported with file and offset.
 */
final class RecordedDigests implements AutoCloseable {
    private static final int HEADER = 12;
    /** DigestLog's own bound on a record. */
    private static final int MAX_RECORD = 1 << 20;

    private final Path file;
    private final long size;
    private final DataInputStream in;
    private long pos = HEADER;
    private FrameDigest next;
    private boolean ended;
    private long lastSeq;
    private String tornTail;

    private RecordedDigests(Path file) throws IOException {
        this.file = file;
        this.size = Files.size(file);
        this.in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16));
        in.skipNBytes(HEADER);
    }

    /** Opens a digest log for reading; a bad header is a {@link LogCorruptedException}. */
    static RecordedDigests open(Path file) {
        DigestLog.readFile(file, Long.MAX_VALUE, 0);
        try {
            return new RecordedDigests(file);
        } catch (IOException e) {
            throw new UncheckedIOException("digest log `" + file + "` cannot be read: " + e.getMessage(), e);
        }
    }

    Path file() {
        return file;
    }

    /**
     * The record of frame {@code seq}, or null when the log has none. Calls must ask for increasing seqs;
     * records before {@code seq} are skipped.
     */
    FrameDigest at(long seq) {
        while (true) {
            if (next == null && !advance()) {
                return null;
            }
            if (next.seq() == seq) {
                return next;
            }
            if (next.seq() > seq) {
                return null;
            }
            next = null;
        }
    }

    /** Seq of the last record read so far (0 before any). */
    long lastSeq() {
        return lastSeq;
    }

    /** Why reading stopped before the end of the file, or null. */
    String tornTail() {
        return tornTail;
    }

    private boolean advance() {
        if (ended) {
            return false;
        }
        try {
            if (pos == size) {
                ended = true;
                return false;
            }
            if (size - pos < 8) {
                return torn("a record header of " + (size - pos) + " bytes");
            }
            int len = in.readInt();
            int crc = in.readInt();
            if (len <= 0 || len > MAX_RECORD) {
                throw corrupt("record length " + Integer.toUnsignedString(len));
            }
            if (pos + 8 + len > size) {
                return torn("a record of " + len + " bytes, partly written");
            }
            byte[] payload = new byte[len];
            in.readFully(payload);
            CRC32C c = new CRC32C();
            c.update(payload);
            if ((int) c.getValue() != crc) {
                if (pos + 8 + len == size) {
                    return torn("a last record whose checksum does not match");
                }
                throw corrupt("record checksum mismatch");
            }
            FrameDigest d = DigestLog.decode(payload, file, pos);
            if (d.seq() <= lastSeq) {
                throw corrupt("frame " + d.seq() + " after frame " + lastSeq);
            }
            pos += 8 + len;
            lastSeq = d.seq();
            next = d;
            return true;
        } catch (EOFException e) {
            // The file shrank under us (a replica cut its tail): what was read stands.
            return torn("the file ended while reading");
        } catch (IOException e) {
            throw new UncheckedIOException("digest log `" + file + "` cannot be read: " + e.getMessage(), e);
        }
    }

    private boolean torn(String what) {
        ended = true;
        tornTail = "torn tail at byte " + pos + " (" + what + ")";
        return false;
    }

    private LogCorruptedException corrupt(String what) {
        ended = true;
        return new LogCorruptedException(file, pos, what, "compare with another replica's digest log (--replica N), "
                + "or delete this one: the replica records it again from its next frame");
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            // Read-only: nothing was left unwritten.
        }
    }
}
