package io.replicode.replica.wasi.fs;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;

/**
 * A regular file: growable bytes in one array. Bytes between {@code size} and the array's end are always
 * zero, so growing the file (by a write past the end or by extending its size) reads back as zeros.
 */
public final class FileNode extends Node {
    private static final byte[] EMPTY = new byte[0];

    private byte[] data = EMPTY;
    private int size;

    FileNode(long ino, long nowNs) {
        super(ino, nowNs);
    }

    @Override
    public int filetype() {
        return Filetype.REGULAR_FILE;
    }

    /** The file's length in bytes. */
    @Override
    public long size() {
        return size;
    }

    /** Copies up to {@code length} bytes from {@code offset}; 0 at or past the end. */
    int read(long offset, byte[] dst, int dstOffset, int length) {
        if (offset >= size) {
            return 0;
        }
        int n = (int) Math.min(length, size - offset);
        System.arraycopy(data, (int) offset, dst, dstOffset, n);
        return n;
    }

    /** The caller has checked that {@code offset + length} fits the file size limit and the quota. */
    void write(int offset, byte[] src, int srcOffset, int length) {
        int end = offset + length;
        ensureCapacity(end);
        System.arraycopy(src, srcOffset, data, offset, length);
        size = Math.max(size, end);
    }

    /** Truncates or extends; extension reads as zeros. */
    void resize(int newSize) {
        if (newSize < size) {
            Arrays.fill(data, newSize, size, (byte) 0);
        } else {
            ensureCapacity(newSize);
        }
        size = newSize;
    }

    void writeContent(DataOutputStream out) throws IOException {
        out.write(data, 0, size);
    }

    /**
     * Reads {@code length} bytes of content in chunks, so that a corrupt length in a snapshot costs memory
     * in proportion to the bytes actually present, not to the length it claims.
     */
    void readContent(DataInputStream in, int length) throws IOException {
        int done = 0;
        while (done < length) {
            int n = Math.min(64 * 1024, length - done);
            ensureCapacity(done + n);
            in.readFully(data, done, n);
            done += n;
        }
        size = length;
    }

    /** Drops the content of a released file. */
    void clear() {
        data = EMPTY;
        size = 0;
    }

    private void ensureCapacity(int needed) {
        if (needed > data.length) {
            // Doubling keeps a file written in small appends linear; the cap keeps the array allocatable.
            long doubled = Math.min(2L * data.length, FsLimits.MAX_FILE_SIZE);
            data = Arrays.copyOf(data, (int) Math.max(needed, Math.max(doubled, 16)));
        }
    }
}
