package io.replicode.gateway.routing;

import io.replicode.nat.ConnectionIds;
import io.replicode.nat.Output;
import io.replicode.nat.OutputBatch;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * Decides which replica outputs reach the clients, exactly once and in stream order.
 *
 * <p>Every replica of an app produces the same outputs for the same frame, and sends them in seq order, so
 * the first batch to arrive for a seq is taken and every later copy (another replica's, or a restarted
 * replica's replay) is dropped: a batch is applied iff its seq is above the last applied for its app.
 * Within a connection, every Send must start where the previous one ended and a Close must come at the
 * end of the stream; outputs that do not line up are a bug upstream and end the connection with a reset
 * rather than corrupt the client's byte stream.
 *
 * <p>Pure and single-threaded: what to do is said to a {@link Sink}.
 */
public final class OutputRouter {
    /** What the router decided, connection by connection, in output order. */
    public interface Sink {
        /** Guest bytes for the client, the next ones of its stream. */
        void send(long connection, byte[] bytes);

        /** The guest ended its sending side after everything sent. */
        void close(long connection);

        /** The guest reset (or refused) the connection; the router has forgotten it. */
        void reset(long connection);

        /** The guest consumed {@code bytes} of the client's input. */
        void window(long connection, int bytes);

        /** The guest wrote to stdout (fd 1) or stderr (fd 2). */
        void log(String app, int fd, byte[] bytes);

        /** The app stopped for {@code reason}. */
        void stopped(String app, String reason);

        /** The app met a fault and goes on ({@code report} says how), or was restarted: it serves again. */
        void recovered(String app, String report);

        /** The app runs module {@code moduleSha256} from now on ({@code report} says how the switch went): it serves. */
        void upgraded(String app, String moduleSha256, String report);

        /** The outputs of {@code connection} do not line up ({@code problem} says how); the router has forgotten it. */
        void misaligned(String app, long connection, String problem);
    }

    /** What became of one batch. */
    public enum Verdict {
        APPLIED,
        /** Its seq was already applied for its app: a copy from another replica, or a replay. */
        DUPLICATE,
        /** No such app at this gateway. */
        UNKNOWN_APP,
        /** From a replica found diverged: its outputs are never released. */
        DISTRUSTED
    }

    /** The guest's output stream of one connection. */
    private static final class Stream {
        final String app;
        long next;
        boolean closed;

        Stream(String app) {
            this.app = app;
        }
    }

    private final int gatewayId;
    private final Map<String, Long> lastSeq = new HashMap<>();
    private final Map<Long, Stream> streams = new HashMap<>();
    private long applied;
    private long duplicates;
    private long distrustedDropped;
    /** Per app, replicas whose outputs must not be released (they diverged from the majority). */
    private final Map<String, java.util.Set<Integer>> distrusted = new HashMap<>();
    private long unknownApp;
    private long misaligned;
    private long orphans;
    private long overlapBytes;

    /** A router for {@code gatewayId}'s connections of {@code apps}; no batch applied yet. */
    public OutputRouter(int gatewayId, Collection<String> apps) {
        this.gatewayId = gatewayId;
        for (String app : apps) {
            lastSeq.put(app, 0L);
        }
    }

    /** Starts the output stream of a new connection of {@code app} at offset 0. */
    public void track(long connection, String app) {
        if (ConnectionIds.gateway(connection) != gatewayId) {
            throw new IllegalArgumentException("connection " + ConnectionIds.format(connection)
                    + " belongs to gateway " + ConnectionIds.gateway(connection) + ", not " + gatewayId);
        }
        if (!lastSeq.containsKey(app)) {
            throw new IllegalArgumentException("no app '" + app + "' at this gateway");
        }
        if (streams.putIfAbsent(connection, new Stream(app)) != null) {
            throw new IllegalStateException("connection " + ConnectionIds.format(connection) + " is already tracked");
        }
    }

    /** The connection is gone at the gateway: later outputs for it are dropped. */
    public void forget(long connection) {
        streams.remove(connection);
    }

    /** Applies {@code batch} through {@code sink} unless it is a duplicate or for an unknown app. */
    public Verdict route(OutputBatch batch, Sink sink) {
        Verdict dropped = screen(batch.app(), batch.replica(), batch.seq());
        if (dropped != null) {
            return dropped;
        }
        return routeScreened(batch, sink);
    }

    /**
     * Why a batch with this header is dropped (counted), or null when it is to be routed: the decision {@link #route}
     * makes first, from the header alone (see {@link OutputBatch#peek}).
     */
    public Verdict screen(String app, int replica, long seq) {
        Long last = lastSeq.get(app);
        if (last == null) {
            unknownApp++;
            return Verdict.UNKNOWN_APP;
        }
        java.util.Set<Integer> bad = distrusted.get(app);
        if (bad != null && bad.contains(replica)) {
            distrustedDropped++;
            return Verdict.DISTRUSTED;
        }
        if (seq <= last) {
            duplicates++;
            return Verdict.DUPLICATE;
        }
        return null;
    }

    /** Routes a batch {@link #screen} let through. */
    public Verdict routeScreened(OutputBatch batch, Sink sink) {
        lastSeq.put(batch.app(), batch.seq());
        applied++;
        String app = batch.app();
        for (Output o : batch.outputs()) {
            if (o instanceof Output.Send s) {
                send(app, s, sink);
            } else if (o instanceof Output.Close c) {
                Stream st = stream(app, c.connection());
                if (st == null) {
                    continue;
                }
                if (st.closed) {
                    misaligned(app, c.connection(), "a second FIN at offset " + c.offset(), sink);
                } else if (c.offset() != st.next) {
                    misaligned(app, c.connection(), "FIN at offset " + c.offset() + " but " + st.next
                            + " bytes were sent", sink);
                } else {
                    st.closed = true;
                    sink.close(c.connection());
                }
            } else if (o instanceof Output.Reset r) {
                if (stream(app, r.connection()) != null) {
                    streams.remove(r.connection());
                    sink.reset(r.connection());
                }
            } else if (o instanceof Output.Window w) {
                if (stream(app, w.connection()) != null) {
                    sink.window(w.connection(), w.bytes());
                }
            } else if (o instanceof Output.Log l) {
                sink.log(app, l.fd(), l.bytes());
            } else if (o instanceof Output.Stopped s) {
                sink.stopped(app, s.reason());
            } else if (o instanceof Output.Recovered r) {
                sink.recovered(app, r.report());
            } else if (o instanceof Output.Upgraded u) {
                sink.upgraded(app, u.moduleSha256(), u.report());
            }
            // TimerRequest is the sequencer's business; a gateway that gets one has nothing to do.
        }
        return Verdict.APPLIED;
    }

    private void send(String app, Output.Send s, OutputRouter.Sink sink) {
        Stream st = stream(app, s.connection());
        if (st == null) {
            return;
        }
        long end = s.offset() + s.bytes().length;
        if (st.closed) {
            misaligned(app, s.connection(), s.bytes().length + " bytes at offset " + s.offset() + " after the FIN", sink);
        } else if (s.offset() > st.next) {
            misaligned(app, s.connection(), "bytes at offset " + s.offset() + " but only " + st.next
                    + " were sent before them", sink);
        } else if (end <= st.next) {
            // Already delivered: only possible if outputs overlap; harmless, the bytes are the same.
            overlapBytes += s.bytes().length;
        } else {
            byte[] bytes = s.bytes();
            if (s.offset() < st.next) {
                int skip = (int) (st.next - s.offset());
                overlapBytes += skip;
                bytes = Arrays.copyOfRange(bytes, skip, bytes.length);
            }
            st.next = end;
            if (bytes.length > 0) {
                sink.send(s.connection(), bytes);
            }
        }
    }

    /** The stream of a tracked connection of {@code app}, or null (counted) when outputs for it are to be dropped. */
    private Stream stream(String app, long connection) {
        Stream st = streams.get(connection);
        if (st == null || !st.app.equals(app)) {
            orphans++;
            return null;
        }
        return st;
    }

    private void misaligned(String app, long connection, String problem, Sink sink) {
        misaligned++;
        streams.remove(connection);
        sink.misaligned(app, connection, problem);
    }

    /** The seq of the last batch applied for {@code app} (0 before the first), or -1 for an unknown app. */
    public long lastSeq(String app) {
        return lastSeq.getOrDefault(app, -1L);
    }

    /** Bytes the guest sent on {@code connection} so far, or -1 when it is not tracked. */
    public long sentBytes(long connection) {
        Stream st = streams.get(connection);
        return st == null ? -1 : st.next;
    }

    /** Connections whose outputs are being routed. */
    public int tracked() {
        return streams.size();
    }

    /** Batches applied. */
    public long applied() {
        return applied;
    }

    /** Batches dropped because their seq was already applied. */
    /** Stops (or resumes, after a rebuild) releasing the outputs of {@code replica} of {@code app}. */
    public void distrust(String app, int replica, boolean distrust) {
        java.util.Set<Integer> set = distrusted.computeIfAbsent(app, a -> new java.util.TreeSet<>());
        if (distrust) {
            set.add(replica);
        } else {
            set.remove(replica);
        }
    }

    /** Batches dropped because their replica diverged. */
    public long distrustedDropped() {
        return distrustedDropped;
    }

    /** Replicas of {@code app} whose outputs are not released. */
    public java.util.Set<Integer> distrusted(String app) {
        return java.util.Set.copyOf(distrusted.getOrDefault(app, java.util.Set.of()));
    }

    public long duplicates() {
        return duplicates;
    }

    /** Batches dropped because their app is not served here. */
    public long unknownApp() {
        return unknownApp;
    }

    /** Connections reset because their outputs did not line up. */
    public long misaligned() {
        return misaligned;
    }

    /** Outputs dropped because their connection was already gone (or never existed here). */
    public long orphans() {
        return orphans;
    }

    /** Bytes dropped because they had already been delivered. */
    public long overlapBytes() {
        return overlapBytes;
    }
}
