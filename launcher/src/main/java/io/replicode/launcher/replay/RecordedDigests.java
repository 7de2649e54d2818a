package io.replicode.launcher.replay;

import io.replicode.replay.DigestLog;
import io.replicode.replay.DigestLog.FrameDigest;
import java.nio.file.Path;

/**
 * One replica's digest log, looked up by increasing seq while a replay runs: a thin layer over
 * {@link DigestLog.Reader}, which reads the file once, front to back, checking every record.
 */
final class RecordedDigests implements AutoCloseable {
    private final DigestLog.Reader reader;
    private FrameDigest next;

    private RecordedDigests(DigestLog.Reader reader) {
        this.reader = reader;
    }

    /** Opens a digest log for reading; a bad header is a {@code LogCorruptedException}. */
    static RecordedDigests open(Path file) {
        return new RecordedDigests(DigestLog.Reader.open(file));
    }

    Path file() {
        return reader.file();
    }

    /**
     * The record of frame {@code seq}, or null when the log has none. Calls must ask for increasing seqs;
     * records before {@code seq} are skipped.
     */
    FrameDigest at(long seq) {
        while (true) {
            if (next == null) {
                next = reader.next();
                if (next == null) {
                    return null;
                }
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
        return reader.lastSeq();
    }

    /** Why reading stopped before the end of the file, or null. */
    String tornTail() {
        return reader.tornTail();
    }

    @Override
    public void close() {
        reader.close();
    }
}
