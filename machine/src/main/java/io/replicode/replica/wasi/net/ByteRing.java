package io.replicode.replica.wasi.net;

/** A bounded FIFO of bytes: a socket's receive buffer. */
final class ByteRing {
    private byte[] buf;
    private int head;
    private int size;
    private final int capacity;

    ByteRing(int capacity) {
        this.capacity = capacity;
        // Allocated on first write: an idle connection (or one claimed by a snapshot) costs no buffer.
        this.buf = new byte[0];
    }

    int size() {
        return size;
    }

    int capacity() {
        return capacity;
    }

    int free() {
        return capacity - size;
    }

    /** Appends all of {@code src}; the caller checked {@link #free()}. */
    void write(byte[] src) {
        if (src.length == 0) {
            return;
        }
        if (src.length > free()) {
            throw new IllegalStateException("receive buffer overflow: " + src.length + " > " + free());
        }
        ensure(size + src.length);
        int tail = (head + size) % buf.length;
        int first = Math.min(src.length, buf.length - tail);
        System.arraycopy(src, 0, buf, tail, first);
        System.arraycopy(src, first, buf, 0, src.length - first);
        size += src.length;
    }

    /** Removes and returns up to {@code max} bytes. */
    byte[] read(int max) {
        int n = Math.min(max, size);
        if (n == 0) {
            return new byte[0];
        }
        byte[] out = new byte[n];
        int first = Math.min(n, buf.length - head);
        System.arraycopy(buf, head, out, 0, first);
        System.arraycopy(buf, 0, out, first, n - first);
        head = (head + n) % buf.length;
        size -= n;
        if (size == 0) {
            head = 0;
        }
        return out;
    }

    /** The buffered bytes, without removing them. */
    byte[] peekAll() {
        byte[] out = new byte[size];
        int first = Math.min(size, buf.length - head);
        System.arraycopy(buf, head, out, 0, first);
        System.arraycopy(buf, 0, out, first, size - first);
        return out;
    }

    void clear() {
        head = 0;
        size = 0;
    }

    private void ensure(int needed) {
        if (needed <= buf.length) {
            return;
        }
        int cap = Math.max(buf.length, Math.min(capacity, 4096));
        while (cap < needed) {
            cap = Math.min(capacity, cap * 2);
        }
        byte[] nb = new byte[cap];
        int first = Math.min(size, buf.length - head);
        System.arraycopy(buf, head, nb, 0, first);
        System.arraycopy(buf, 0, nb, first, size - first);
        buf = nb;
        head = 0;
    }
}
