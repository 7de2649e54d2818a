package io.replicode.replay;

import java.nio.file.Path;

/** A replay log that cannot be trusted: names the file, the byte offset, what is wrong and what to do. */
public final class LogCorruptedException extends io.replicode.FixableException {
    private final Path file;
    private final long offset;

    public LogCorruptedException(Path file, long offset, String what, String fix) {
        super("replay log `" + file + "` is corrupt at byte " + offset + ": " + what, fix);
        this.file = file;
        this.offset = offset;
    }

    public Path file() {
        return file;
    }

    public long offset() {
        return offset;
    }
}
