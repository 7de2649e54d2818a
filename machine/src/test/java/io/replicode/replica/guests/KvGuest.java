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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The kv server guest on a {@link GuestMachine}, driven as the gateway drives it: events queue up and go out in
 * the next frame, a client's bytes are delivered only as far as the guest's receive window allows, and every byte
 * the guest sends is acknowledged with a window grant in the following frame. The frame clock moves only when a
 * test moves it.
 */
final class KvGuest implements AutoCloseable {
    static final long T0 = 1_700_000_000_000_000_000L;
    static final List<String> LISTENERS = List.of("resp", "http", "line");
    static final int RECEIVE_BUFFER = GuestLimits.DEFAULT.receiveBufferBytes();

    final GuestMachine machine;
    /** Every output of every frame, in order. */
    final List<Output> outputs = new ArrayList<>();
    /** Times the guest asked to be woken at (timer requests), in order. */
    final List<Long> timers = new ArrayList<>();
    long timeNs = T0;
    private long seq;
    private long nextConn = 1;
    private final List<IngressEvent> queued = new ArrayList<>();
    private final Map<Long, Conn> conns = new LinkedHashMap<>();

    private KvGuest(GuestMachine machine) {
        this.machine = machine;
    }

    static KvGuest start(Engine engine) {
        return start(engine, GuestConfig.of("kv", LISTENERS));
    }

    /** A kv guest whose value limit is 1 MiB (the environment's KV_MAX_VALUE_BYTES), for tests of that limit. */
    static KvGuest startWith1MiBValues(Engine engine) {
        return start(engine, GuestConfig.of("kv", LISTENERS).withEnvironment(java.util.Map.of("KV_MAX_VALUE_BYTES", "1048576")));
    }

    /** A kv guest with the given config (its genesis is set here); the first frame runs it up to its poll loop. */
    static KvGuest start(Engine engine, GuestConfig config) {
        GuestMachine m = GuestMachine.create(GuestModule.load(wasm(), engine),
                config.withGenesis(new byte[] {4, 2}, T0));
        KvGuest g = new KvGuest(m);
        g.step();
        return g;
    }

    static Path wasm() {
        Path p = Path.of(System.getProperty("replicode.wasm.dir", "../wasm-programs/wasm")).resolve("kv_server.wasm");
        if (!Files.exists(p)) {
            throw new IllegalStateException("guest " + p.toAbsolutePath() + " is missing; run make -C wasm-programs");
        }
        return p;
    }

    /** The client side of one virtual connection. */
    final class Conn {
        final long id;
        private final ByteArrayOutputStream received = new ByteArrayOutputStream();
        private final ArrayDeque<byte[]> unsent = new ArrayDeque<>();
        private int taken;
        private long credit = RECEIVE_BUFFER;
        private long nextOffset;
        private boolean halfClosePending;
        boolean closed;
        boolean reset;

        private Conn(long id) {
            this.id = id;
        }

        /** Queues bytes; the next frames deliver them within the guest's receive window. */
        Conn send(byte[] bytes) {
            unsent.add(bytes);
            return this;
        }

        Conn send(String text) {
            return send(text.getBytes(StandardCharsets.ISO_8859_1));
        }

        /** Queues a half-close, delivered after the bytes sent before it. */
        Conn halfClose() {
            halfClosePending = true;
            return this;
        }

        /** Runs frames until the guest waits, and returns the bytes it sent since the last take. */
        byte[] takeBytes() {
            settle();
            byte[] all = received.toByteArray();
            byte[] out = Arrays.copyOfRange(all, taken, all.length);
            taken = all.length;
            return out;
        }

        /** {@link #takeBytes()} as ISO-8859-1 text (byte for byte). */
        String take() {
            return new String(takeBytes(), StandardCharsets.ISO_8859_1);
        }

        /** Sends, settles and returns the reply. */
        String call(String request) {
            return send(request).take();
        }

        private void deliver(List<IngressEvent> events) {
            while (!unsent.isEmpty() && credit > 0) {
                byte[] head = unsent.poll();
                int n = (int) Math.min(credit, head.length);
                if (n < head.length) {
                    unsent.addFirst(Arrays.copyOfRange(head, n, head.length));
                    head = Arrays.copyOf(head, n);
                }
                credit -= n;
                events.add(new IngressEvent.Data(id, head));
            }
            if (unsent.isEmpty() && halfClosePending) {
                halfClosePending = false;
                events.add(new IngressEvent.HalfClose(id));
            }
        }

        private boolean hasWork() {
            return halfClosePending || (!unsent.isEmpty() && credit > 0);
        }

        private boolean stalled() {
            return !unsent.isEmpty() && credit == 0;
        }
    }

    Conn open(String listener) {
        Conn c = new Conn(nextConn++);
        conns.put(c.id, c);
        queued.add(new IngressEvent.Open(c.id, listener));
        return c;
    }

    /** Queues an app-wide event (an upgrade, a restart) for the next frame. */
    void queue(IngressEvent e) {
        queued.add(e);
    }

    void reset(Conn c) {
        queued.add(new IngressEvent.Reset(c.id));
    }

    /** Applies one frame with everything queued and deliverable (possibly nothing: a tick). */
    List<Output> step() {
        List<IngressEvent> events = new ArrayList<>(queued);
        queued.clear();
        for (Conn c : conns.values()) {
            c.deliver(events);
        }
        seq++;
        List<Output> out = machine.apply(new Frame("kv", 1, seq, timeNs, new byte[] {(byte) seq, 7}, events));
        outputs.addAll(out);
        for (Output o : out) {
            absorb(o);
        }
        return out;
    }

    private void absorb(Output o) {
        if (o instanceof Output.Send s) {
            Conn c = conns.get(s.connection());
            if (s.offset() != c.nextOffset) {
                throw new AssertionError("connection " + c.id + ": send at offset " + s.offset() + ", expected "
                        + c.nextOffset);
            }
            c.received.writeBytes(s.bytes());
            c.nextOffset += s.bytes().length;
            queued.add(new IngressEvent.Window(c.id, s.bytes().length)); // delivered to the client at once
        } else if (o instanceof Output.Close cl) {
            conns.get(cl.connection()).closed = true;
        } else if (o instanceof Output.Reset r) {
            conns.get(r.connection()).reset = true;
        } else if (o instanceof Output.Window w) {
            conns.get(w.connection()).credit += w.bytes();
        } else if (o instanceof Output.TimerRequest t) {
            timers.add(t.atNs());
        } else if (o instanceof Output.Stopped st) {
            throw new AssertionError("the kv guest stopped: " + st.reason());
        }
    }

    /** Runs frames until nothing is left to deliver, i.e. the guest waits for clients. */
    void settle() {
        for (int i = 0; i < 100_000; i++) {
            boolean work = !queued.isEmpty();
            for (Conn c : conns.values()) {
                if (c.stalled() && queued.isEmpty()) {
                    throw new AssertionError("connection " + c.id + ": the guest stopped reading with "
                            + c.unsent.stream().mapToInt(b -> b.length).sum() + " bytes unsent");
                }
                work |= c.hasWork();
            }
            if (!work) {
                return;
            }
            step();
        }
        throw new AssertionError("the kv guest never settled");
    }

    /** The seq of the last frame applied. */
    long seq() {
        return seq;
    }

    /** Moves the frame clock forward; the next frame carries the new time. */
    void advanceMs(long ms) {
        timeNs += ms * 1_000_000L;
    }

    /** Moves the clock to {@code atNs} and applies an empty frame there (a timer tick), then settles. */
    void tickAt(long atNs) {
        timeNs = atNs;
        step();
        settle();
    }

    @Override
    public void close() {
        machine.close();
    }

    /** A RESP2 multibulk request, written as clients write them. */
    static String resp(String... args) {
        StringBuilder b = new StringBuilder().append('*').append(args.length).append("\r\n");
        for (String a : args) {
            int n = a.getBytes(StandardCharsets.ISO_8859_1).length;
            b.append('$').append(n).append("\r\n").append(a).append("\r\n");
        }
        return b.toString();
    }

    /** A RESP2 bulk string reply. */
    static String bulk(String s) {
        return "$" + s.getBytes(StandardCharsets.ISO_8859_1).length + "\r\n" + s + "\r\n";
    }

    static final String NIL = "$-1\r\n";
    static final String OK = "+OK\r\n";

    static String integer(long v) {
        return ":" + v + "\r\n";
    }

    /** A RESP2 array of bulk strings. */
    static String array(String... items) {
        StringBuilder b = new StringBuilder().append('*').append(items.length).append("\r\n");
        for (String s : items) {
            b.append(bulk(s));
        }
        return b.toString();
    }
}
