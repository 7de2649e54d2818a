package io.replicode.replica.wasi;

import io.replicode.nat.Output;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Collects the outputs of one frame in the order the guest produced them. Consecutive sends on the
 * same connection are merged so a guest writing byte by byte does not produce one output per byte.
 */
public final class OutputBuffer {
    private final List<Output> outputs = new ArrayList<>();
    private long logBytes;
    private final long maxLogBytes;
    private long droppedLogBytes;

    public OutputBuffer(long maxLogBytesPerFrame) {
        this.maxLogBytes = maxLogBytesPerFrame;
    }

    public void add(Output o) {
        if (o instanceof Output.Send s && !outputs.isEmpty()
                && outputs.get(outputs.size() - 1) instanceof Output.Send last
                && last.connection() == s.connection()
                && last.offset() + last.bytes().length == s.offset()) {
            byte[] merged = Arrays.copyOf(last.bytes(), last.bytes().length + s.bytes().length);
            System.arraycopy(s.bytes(), 0, merged, last.bytes().length, s.bytes().length);
            outputs.set(outputs.size() - 1, new Output.Send(s.connection(), last.offset(), merged));
            return;
        }
        outputs.add(o);
    }

    /** Adds stdout/stderr bytes, keeping at most the per-frame log budget; returns how many were kept. */
    public int log(int fd, byte[] bytes) {
        long room = Math.max(0, maxLogBytes - logBytes);
        int kept = (int) Math.min(room, bytes.length);
        if (kept > 0) {
            logBytes += kept;
            byte[] b = kept == bytes.length ? bytes : Arrays.copyOf(bytes, kept);
            if (!outputs.isEmpty() && outputs.get(outputs.size() - 1) instanceof Output.Log last && last.fd() == fd) {
                byte[] merged = Arrays.copyOf(last.bytes(), last.bytes().length + b.length);
                System.arraycopy(b, 0, merged, last.bytes().length, b.length);
                outputs.set(outputs.size() - 1, new Output.Log(fd, merged));
            } else {
                outputs.add(new Output.Log(fd, b));
            }
        }
        droppedLogBytes += bytes.length - kept;
        return kept;
    }

    /** Log bytes dropped because a frame exceeded its log budget (deterministic, so the same everywhere). */
    public long droppedLogBytes() {
        return droppedLogBytes;
    }

    void restoreDroppedLogBytes(long n) {
        droppedLogBytes = n;
    }

    /** Returns the collected outputs and starts a new frame. */
    public List<Output> drain() {
        List<Output> out = List.copyOf(outputs);
        outputs.clear();
        logBytes = 0;
        return out;
    }
}
