package io.replicode.gateway;

import io.replicode.nat.Addresses;
import io.replicode.nat.Frame;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.nat.OutputBatch;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.machine.GuestMachine;
import io.replicode.replica.machine.GuestThreads;
import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import io.replicode.sequencer.FrameSequencer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;

/**
 * The rest of the pipeline for one gateway, in one verticle, so the gateway can be tested with real clients:
 * <ul>
 *   <li>guest apps: ingress batches → {@link FrameSequencer} frames → a real {@link GuestMachine} (applied on
 *       a guest thread, one frame at a time) → outputs;</li>
 *   <li>fake HTTP apps: a few lines that answer each request on their "http" listener with a fixed kind of
 *       response (see {@link FakeHttp}), honouring windows both ways like a guest.</li>
 * </ul>
 * Every output batch is sent to the gateway twice, as two replicas would (alternating which copy goes first),
 * so the gateway must drop duplicates. Every ingress event is recorded per app for assertions.
 */
final class PipelineStandIn extends VerticleBase {
    static final int REPLICAS = 2;

    private final int gatewayId;
    /** A guest app: its module in wasm-programs/wasm and its listeners. */
    record Guest(String module, List<String> listeners) {}

    private final Map<String, Guest> guests;
    private final List<String> fakes;
    /** Every ingress event each app received, in order. */
    final Map<String, List<IngressEvent>> received = new HashMap<>();
    /** Problems the stand-in noticed (e.g. a gap in batch seqs): a test asserts this stays empty. */
    final List<String> problems = new CopyOnWriteArrayList<>();
    private final Map<String, GuestApp> guestApps = new HashMap<>();
    private final Map<String, FakeHttp> fakeApps = new HashMap<>();

    /**
     * @param guests app name → its guest
     * @param fakes  apps answered by {@link FakeHttp} on listener "http"
     */
    PipelineStandIn(int gatewayId, Map<String, Guest> guests, List<String> fakes) {
        this.gatewayId = gatewayId;
        this.guests = guests;
        this.fakes = fakes;
        guests.keySet().forEach(a -> received.put(a, new CopyOnWriteArrayList<>()));
        fakes.forEach(a -> received.put(a, new CopyOnWriteArrayList<>()));
    }

    @Override
    public Future<?> start() {
        List<Future<?>> started = new ArrayList<>();
        for (Map.Entry<String, Guest> g : guests.entrySet()) {
            GuestApp app = new GuestApp(g.getKey(), g.getValue());
            guestApps.put(g.getKey(), app);
            started.add(vertx.eventBus().<Buffer>consumer(Addresses.ingress(g.getKey()), m -> app.onIngress(m.body())).completion());
            started.add(app.boot());
        }
        for (String name : fakes) {
            FakeHttp app = new FakeHttp(name);
            fakeApps.put(name, app);
            started.add(vertx.eventBus().<Buffer>consumer(Addresses.ingress(name), m -> app.onIngress(m.body())).completion());
        }
        return Future.all(started);
    }

    @Override
    public Future<?> stop() {
        guestApps.values().forEach(GuestApp::close);
        return Future.succeededFuture();
    }

    /** Sends {@code outputs} of frame {@code seq} to the gateway once per replica. */
    private void publish(String app, long seq, List<Output> outputs) {
        for (int i = 0; i < REPLICAS; i++) {
            int replica = (int) ((seq + i) % REPLICAS) + 1;
            vertx.eventBus().send(Addresses.outputs(gatewayId), Buffer.buffer(new OutputBatch(app, replica, seq, outputs).encode()));
        }
    }

    /** Count of {@code type} events {@code app} received. */
    long count(String app, Class<? extends IngressEvent> type) {
        return received.get(app).stream().filter(type::isInstance).count();
    }

    /** The committed guest module {@code name}, or null when it has not been built. */
    static Path wasm(String name) {
        Path p = Path.of(System.getProperty("replicode.wasm.dir", "../wasm-programs/wasm")).resolve(name + ".wasm");
        return Files.exists(p) ? p : null;
    }

    static long nowNs() {
        return System.currentTimeMillis() * 1_000_000L;
    }

    private IngressBatch decode(String app, Buffer body, Map<String, Long> lastBatch) {
        IngressBatch b = IngressBatch.decode(body.getBytes());
        long last = lastBatch.getOrDefault(app, 0L);
        if (b.gateway() != gatewayId || b.batchSeq() != last + 1) {
            problems.add(app + ": ingress batch " + b.batchSeq() + " from gateway " + b.gateway() + " after " + last);
        }
        lastBatch.put(app, b.batchSeq());
        received.get(app).addAll(b.events());
        return b;
    }

    private final Map<String, Long> lastBatch = new HashMap<>();

    /** One app running a real guest: the sequencer's and a replica's jobs, in miniature. */
    private final class GuestApp {
        final String name;
        final GuestMachine machine;
        final FrameSequencer sequencer;
        final ExecutorService thread;
        final Random entropy = new Random(42);
        boolean applying;
        long wakeTimer = -1;

        GuestApp(String name, Guest guest) {
            this.name = name;
            Path wasm = wasm(guest.module());
            if (wasm == null) {
                throw new IllegalStateException("guest " + guest.module() + ".wasm is missing; run make -C wasm-programs");
            }
            long genesisNs = nowNs();
            this.machine = GuestMachine.create(GuestModule.load(wasm, Engine.COMPILER),
                    GuestConfig.of(name, guest.listeners()).withGenesis(new byte[] {7}, genesisNs));
            this.sequencer = new FrameSequencer(name, 1, FrameSequencer.Options.DEFAULT, 0, Frame.GENESIS_HASH, genesisNs);
            this.thread = GuestThreads.newSingleThreadExecutor("stand-in-" + name);
        }

        /** The guest's first frame: it starts and waits for connections. */
        Future<Void> boot() {
            Promise<Void> booted = Promise.promise();
            sequencer.requestTimer(0);
            pump(booted);
            return booted.future();
        }

        void onIngress(Buffer body) {
            IngressBatch b = decode(name, body, lastBatch);
            for (IngressEvent e : b.events()) {
                if (!sequencer.offer(e, nowNs())) {
                    problems.add(name + ": sequencer full");
                }
            }
            pump(null);
        }

        void pump(Promise<Void> applied) {
            if (applying) {
                return;
            }
            long now = nowNs();
            byte[] e = new byte[32];
            entropy.nextBytes(e);
            Frame f = sequencer.next(now, e);
            if (f == null) {
                long wake = sequencer.wakeAtNs();
                if (wake != Long.MAX_VALUE && wakeTimer == -1) {
                    wakeTimer = vertx.setTimer(Math.max(1, (wake - now) / 1_000_000), t -> {
                        wakeTimer = -1;
                        pump(null);
                    });
                }
                return;
            }
            sequencer.durable(f.seq());
            applying = true;
            thread.execute(() -> {
                List<Output> outputs;
                try {
                    outputs = machine.apply(f);
                } catch (RuntimeException ex) {
                    problems.add(name + ": apply failed: " + ex);
                    outputs = List.of();
                }
                List<Output> out = outputs;
                context.runOnContext(v -> {
                    applying = false;
                    for (Output o : out) {
                        if (o instanceof Output.TimerRequest t) {
                            sequencer.requestTimer(t.atNs());
                        }
                    }
                    if (!out.isEmpty()) {
                        publish(name, f.seq(), out);
                    }
                    if (applied != null) {
                        applied.complete();
                    }
                    pump(null);
                });
            });
        }

        void close() {
            thread.execute(machine::close);
            thread.shutdown();
        }
    }

    /**
     * A stand-in HTTP server on listener "http", answering when the request is complete (the gateway's
     * half-close) according to its path:
     * <ul>
     *   <li>{@code /big?n=N}: N bytes of 'x', sent within the gateway's window grants;</li>
     *   <li>{@code /garbage}: bytes that are not HTTP;</li>
 *   <li>{@code /chunked}: a 201 with a chunked body "hello world";</li>
 *   <li>{@code /until-close}: a body delimited by the end of the connection;</li>
     *   <li>{@code /reset}: a reset instead of an answer;</li>
     *   <li>{@code /stop}: the app stops (as if the guest trapped) without answering;</li>
     *   <li>a body starting with {@code SILENT}: no answer at all;</li>
     *   <li>otherwise {@code 200} with body {@code <method> <path> <body bytes> <connection header>}.</li>
     * </ul>
     * It consumes every byte at once (a Window output per Data event).
     */
    private final class FakeHttp {
        final String name;
        long seq;
        final Map<Long, ByteArrayOutputStream> requests = new HashMap<>();
        final Map<Long, Long> offsets = new HashMap<>();
        final Map<Long, Long> credit = new HashMap<>();
        final Map<Long, byte[]> unsent = new HashMap<>();

        FakeHttp(String name) {
            this.name = name;
        }

        void onIngress(Buffer body) {
            IngressBatch b = decode(name, body, lastBatch);
            List<Output> out = new ArrayList<>();
            for (IngressEvent e : b.events()) {
                long c = e.connection();
                if (e instanceof IngressEvent.Open) {
                    requests.put(c, new ByteArrayOutputStream());
                    offsets.put(c, 0L);
                    credit.put(c, 256L << 10);
                } else if (e instanceof IngressEvent.Data d && requests.containsKey(c)) {
                    requests.get(c).writeBytes(d.bytes());
                    out.add(new Output.Window(c, d.bytes().length));
                } else if (e instanceof IngressEvent.HalfClose && requests.containsKey(c)) {
                    answer(c, out);
                } else if (e instanceof IngressEvent.Window w && credit.containsKey(c)) {
                    credit.merge(c, (long) w.bytes(), Long::sum);
                    flush(c, out);
                } else if (e instanceof IngressEvent.Reset) {
                    forget(c);
                }
            }
            if (!out.isEmpty()) {
                publish(name, ++seq, out);
            }
        }

        private void answer(long c, List<Output> out) {
            String request = requests.get(c).toString(StandardCharsets.ISO_8859_1);
            int headEnd = request.indexOf("\r\n\r\n");
            String[] lines = request.substring(0, Math.max(0, headEnd)).split("\r\n");
            String[] line = lines[0].split(" ");
            String method = line[0];
            String path = line.length > 1 ? line[1] : "";
            String connection = "";
            boolean chunked = false;
            for (String h : lines) {
                if (h.toLowerCase().startsWith("connection:")) {
                    connection = h.substring(11).trim();
                }
                if (h.toLowerCase().startsWith("transfer-encoding:") && h.toLowerCase().contains("chunked")) {
                    chunked = true;
                }
            }
            String body = headEnd < 0 ? "" : request.substring(headEnd + 4);
            if (chunked) {
                body = dechunk(body);
            }
            if (body.startsWith("SILENT")) {
                return;
            }
            if (path.equals("/reset")) {
                out.add(new Output.Reset(c));
                forget(c);
                return;
            }
            if (path.equals("/stop")) {
                out.add(new Output.Stopped("trap: unreachable (stand-in)"));
                return;
            }
            byte[] response;
            if (path.equals("/garbage")) {
                response = "VALUE world\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
            } else if (path.equals("/chunked")) {
                response = ("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX-Kind: chunked\r\n\r\n"
                        + "6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
            } else if (path.equals("/until-close")) {
                response = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe body ends with the connection"
                        .getBytes(StandardCharsets.ISO_8859_1);
            } else if (path.startsWith("/big?n=")) {
                int n = Integer.parseInt(path.substring(7));
                ByteArrayOutputStream r = new ByteArrayOutputStream();
                r.writeBytes(("HTTP/1.1 200 OK\r\nContent-Length: " + n + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                r.writeBytes("x".repeat(n).getBytes(StandardCharsets.ISO_8859_1));
                response = r.toByteArray();
            } else {
                String text = method + " " + path + " " + body.length() + " " + connection;
                response = ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Stand-In: " + name + "\r\nContent-Length: "
                        + text.length() + "\r\n\r\n" + text).getBytes(StandardCharsets.ISO_8859_1);
            }
            unsent.put(c, response);
            flush(c, out);
        }

        /** Sends what the window allows; the FIN after the last byte. */
        private void flush(long c, List<Output> out) {
            byte[] rest = unsent.get(c);
            if (rest == null) {
                return;
            }
            int n = (int) Math.min(rest.length, credit.get(c));
            if (n > 0) {
                long offset = offsets.get(c);
                out.add(new Output.Send(c, offset, java.util.Arrays.copyOf(rest, n)));
                offsets.put(c, offset + n);
                credit.merge(c, (long) -n, Long::sum);
                rest = java.util.Arrays.copyOfRange(rest, n, rest.length);
                unsent.put(c, rest);
            }
            if (rest.length == 0) {
                out.add(new Output.Close(c, offsets.get(c)));
                forget(c);
            }
        }

        private void forget(long c) {
            requests.remove(c);
            unsent.remove(c);
            credit.remove(c);
            offsets.remove(c);
        }

        private String dechunk(String body) {
            StringBuilder out = new StringBuilder();
            int at = 0;
            while (true) {
                int eol = body.indexOf("\r\n", at);
                if (eol < 0) {
                    return out.toString();
                }
                int size = Integer.parseInt(body.substring(at, eol).trim(), 16);
                if (size == 0) {
                    return out.toString();
                }
                out.append(body, eol + 2, eol + 2 + size);
                at = eol + 2 + size + 2;
            }
        }
    }
}
