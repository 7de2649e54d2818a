package io.replicode.replica.wasi.fs;

/**
 * The bounds of one guest's filesystem: bytes over all regular files, live inodes, and the size of one file.
 *
 * @param maxBytes    sum of all regular-file sizes (logical size, zero-filled gaps included); beyond it
 *                    writes fail with {@code NOSPC}
 * @param maxInodes   live nodes (directories, files, symlinks, preopen roots, unlinked-but-open files);
 *                    beyond it creation fails with {@code DQUOT}
 * @param maxFileSize largest size of one regular file; beyond it writes fail with {@code FBIG}. At most
 *                    {@link #MAX_FILE_SIZE}, because a file is one Java array.
 */
public record FsLimits(long maxBytes, int maxInodes, long maxFileSize) {
    /** The largest array the JVM reliably allocates. */
    public static final long MAX_FILE_SIZE = Integer.MAX_VALUE - 8;

    public FsLimits {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must be >= 0, got " + maxBytes);
        }
        if (maxInodes < 1) {
            throw new IllegalArgumentException("maxInodes must be >= 1, got " + maxInodes);
        }
        if (maxFileSize < 0 || maxFileSize > MAX_FILE_SIZE) {
            throw new IllegalArgumentException(
                    "maxFileSize must be in [0, " + MAX_FILE_SIZE + "], got " + maxFileSize);
        }
    }

    /** 64 MiB, 4096 inodes, files up to 64 MiB: enough for the default apps. */
    public static FsLimits defaults() {
        return new FsLimits(64L << 20, 4096, 64L << 20);
    }
}
