package io.replicode.replica.guests;

import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.machine.GuestMachine;
import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The image server guest on a {@link GuestMachine}, driven like a client would: connections are opened,
 * bytes are sent within the guest's advertised receive window, and the server's send window is granted as
 * its bytes are "delivered". One frame per step, time advancing 1 ms per frame.
 */
final class ImageGuest implements AutoCloseable {
    static final long T0 = 1_700_000_000_000_000_000L;
    static final int RECEIVE_BUFFER = GuestLimits.DEFAULT.receiveBufferBytes();

    final GuestMachine machine;
    final List<Output> log = new ArrayList<>();
    private long seq;
    private long timeNs = T0;
    private long nextConn = 1;
    private final Map<Long, Connection> connections = new HashMap<>();

    /** The client side of one virtual connection. */
    final class Connection {
        final long id;
        final ByteArrayOutputStream received = new ByteArrayOutputStream();
        long credit = RECEIVE_BUFFER; // bytes the guest can still buffer
        boolean closed;

        Connection(long id) {
            this.id = id;
        }

        /** Sends as much of {@code bytes} per frame as the guest's window allows, granting output window too. */
        void send(byte[] bytes) {
            int at = 0;
            while (at < bytes.length) {
                int n = (int) Math.min(credit, bytes.length - at);
                if (n == 0) {
                    step();
                    if (credit == 0) {
                        throw new AssertionError("connection " + id + ": the guest stopped reading after "
                                + at + " of " + bytes.length + " bytes");
                    }
                    continue;
                }
                byte[] chunk = java.util.Arrays.copyOfRange(bytes, at, at + n);
                credit -= n;
                at += n;
                frame(new IngressEvent.Data(id, chunk));
            }
        }

        void send(String text) {
            send(text.getBytes(StandardCharsets.ISO_8859_1));
        }

        void halfClose() {
            frame(new IngressEvent.HalfClose(id));
        }

        /** Runs frames (granting window) until the server closes the connection; returns everything it sent. */
        byte[] awaitClose() {
            for (int idle = 0; !closed; ) {
                int before = received.size();
                step();
                idle = received.size() == before ? idle + 1 : 0;
                if (idle > 3) {
                    throw new AssertionError("connection " + id + " neither sends nor closes; got "
                            + received.size() + " bytes: " + preview(received.toByteArray()));
                }
            }
            return received.toByteArray();
        }

        /** Runs frames until at least {@code n} bytes arrived in total. */
        byte[] awaitBytes(int n) {
            for (int idle = 0; received.size() < n; ) {
                int before = received.size();
                step();
                idle = received.size() == before ? idle + 1 : 0;
                if (idle > 3) {
                    throw new AssertionError("connection " + id + ": waited for " + n + " bytes, got "
                            + received.size() + ": " + preview(received.toByteArray()));
                }
            }
            return received.toByteArray();
        }
    }

    ImageGuest(Engine engine) {
        this(engine, GuestLimits.DEFAULT, Map.of());
    }

    ImageGuest(Engine engine, GuestLimits limits, Map<String, String> env) {
        GuestConfig config = GuestConfig.of("image", List.of("http", "files"))
                .withGenesis(new byte[] {1, 2, 3}, T0)
                .withLimits(limits)
                .withEnvironment(env);
        machine = GuestMachine.create(GuestModule.load(wasm(), engine), config);
        frame();
        if (machine.state() != GuestMachine.State.PARKED) {
            throw new AssertionError("image server did not start: " + machine.stopReason());
        }
    }

    static Path wasm() {
        Path dir = Path.of(System.getProperty("replicode.wasm.dir", "../wasm-programs/wasm"));
        Path p = dir.resolve("image_server.wasm");
        if (!Files.exists(p)) {
            throw new IllegalStateException("guest " + p.toAbsolutePath() + " is missing; run make -C wasm-programs");
        }
        return p;
    }

    Connection open(String listener) {
        Connection c = new Connection(nextConn++);
        connections.put(c.id, c);
        frame(new IngressEvent.Open(c.id, listener));
        return c;
    }

    /** One frame with these events; outputs are routed to the connections. */
    List<Output> frame(IngressEvent... events) {
        timeNs += 1_000_000;
        seq++;
        List<Output> out = machine.apply(new Frame("image", 1, seq, timeNs, new byte[] {(byte) seq, 7}, List.of(events)));
        log.addAll(out);
        for (Output o : out) {
            route(o);
        }
        if (machine.state() == GuestMachine.State.STOPPED) {
            throw new AssertionError("image server stopped: " + machine.stopReason());
        }
        return out;
    }

    private void route(Output o) {
        if (o instanceof Output.Send s) {
            Connection c = connections.get(s.connection());
            if (s.offset() != c.received.size()) {
                throw new AssertionError("connection " + c.id + ": offset " + s.offset() + ", expected " + c.received.size());
            }
            c.received.writeBytes(s.bytes());
        } else if (o instanceof Output.Close cl) {
            connections.get(cl.connection()).closed = true;
        } else if (o instanceof Output.Reset r) {
            Connection c = connections.get(r.connection());
            if (c != null) {
                c.closed = true;
            }
        } else if (o instanceof Output.Window w) {
            connections.get(w.connection()).credit += w.bytes();
        }
    }

    /** A frame that delivers everything sent so far: the guest's send window is refilled on every connection. */
    List<Output> step() {
        List<IngressEvent> grants = new ArrayList<>();
        for (Connection c : connections.values()) {
            int n = delivered(c);
            if (!c.closed && n > 0) {
                grants.add(new IngressEvent.Window(c.id, n));
            }
        }
        grants.sort(java.util.Comparator.comparingLong(IngressEvent::connection));
        return frame(grants.toArray(IngressEvent[]::new));
    }

    private final Map<Long, Integer> granted = new HashMap<>();

    /** Bytes received on c since the last grant (the gateway grants what it delivered). */
    private int delivered(Connection c) {
        int total = c.received.size();
        int before = granted.getOrDefault(c.id, 0);
        granted.put(c.id, total);
        return total - before;
    }

    /** Sends two small requests in one frame (so the guest handles them in the same frame). */
    List<Output> together(Connection a, byte[] x, Connection b, byte[] y) {
        if (x.length > a.credit || y.length > b.credit) {
            throw new IllegalArgumentException("requests larger than the receive window");
        }
        a.credit -= x.length;
        b.credit -= y.length;
        return frame(new IngressEvent.Data(a.id, x), new IngressEvent.Data(b.id, y));
    }

    /** Opens a connection on {@code listener}, sends {@code request}, half-closes and returns the whole reply. */
    byte[] exchange(String listener, byte[] request) {
        Connection c = open(listener);
        c.send(request);
        c.halfClose();
        return c.awaitClose();
    }

    long fuelConsumed() {
        return machine.status().fuelConsumed();
    }

    static String preview(byte[] b) {
        String s = new String(b, 0, Math.min(b.length, 300), StandardCharsets.ISO_8859_1);
        return s.replace("\r", "\\r").replace("\n", "\\n");
    }

    @Override
    public void close() {
        machine.close();
    }
}
