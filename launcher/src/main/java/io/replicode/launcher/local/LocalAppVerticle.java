package io.replicode.launcher.local;

import io.replicode.launcher.UserError;
import io.replicode.launcher.config.AppConfig;
import io.replicode.launcher.config.Batching;
import io.replicode.launcher.config.TcpBinding;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replay.Frame;
import io.replicode.replica.machine.GuestMachine;
import io.replicode.replica.machine.GuestThreads;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.io.PrintWriter;
import java.net.BindException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;

/**
 * One app on a local node: its TCP ports, its client connections, and its guest machine, with a frame
 * batcher in between. NO replication: one machine, frames are neither logged nor published. The pipeline
 * (gateway, sequencer, replay log, replicas) replaces this class; what it does maps onto theirs:
 * accepting and routing is the gateway's, {@link FrameBatcher} and the tick timer are the sequencer's,
 * the worker that applies frames is a replica's.
 *
 * <p>Everything but {@link GuestMachine#apply} runs on this verticle's event loop; frames are applied one
 * at a time on the app's own worker thread, in seq order.
 */
final class LocalAppVerticle extends VerticleBase {
    private static final long NONE = -1;

    private final AppConfig app;
    private final String host;
    private final Batching batching;
    private final GuestMachine machine;
    private final PrintWriter out;
    private final GuestLog log;
    private final FrameBatcher batcher;
    private final SecureRandom random = new SecureRandom();

    private final List<NetServer> servers = new ArrayList<>();
    private final LocalNode.Endpoint[] endpoints;
    private final Map<Long, TcpConnection> connections = new HashMap<>();
    private final ArrayDeque<Frame> frames = new ArrayDeque<>();
    /** The app's guest thread: frames are applied here, inline, one at a time and in seq order. */
    private ExecutorService guestThread;
    private long nextConnection = 1;
    private boolean applying;
    /** The guest stopped, or the node is shutting down: events are dropped, no frame is applied. */
    private boolean stopped;
    private boolean refusingLogged;
    private long batchTimer = NONE;
    private long tickTimer = NONE;
    private long tickAtNs;
    private Promise<Void> booted;

    LocalAppVerticle(AppConfig app, String host, Batching batching, GuestMachine machine, long genesisTimeNs,
                     PrintWriter out) {
        this.app = app;
        this.host = host;
        this.batching = batching;
        this.machine = machine;
        this.out = out;
        this.log = new GuestLog(app.name(), out);
        this.batcher = new FrameBatcher(app.name(), batching.maxEventsPerFrame(), genesisTimeNs);
        this.endpoints = new LocalNode.Endpoint[app.tcp().size()];
    }

    /** Binds the app's ports; fails with a {@link UserError} when one is taken. The guest has not run yet. */
    @Override
    public Future<?> start() {
        guestThread = GuestThreads.newSingleThreadExecutor("replicode-app-" + app.name());
        List<Future<NetServer>> listening = new ArrayList<>();
        for (int i = 0; i < app.tcp().size(); i++) {
            int index = i;
            TcpBinding binding = app.tcp().get(i);
            NetServer server = vertx.createNetServer(new NetServerOptions().setHost(host).setPort(binding.port()));
            server.connectHandler(socket -> accept(socket, binding.listener()));
            servers.add(server);
            listening.add(server.listen()
                    .onSuccess(s -> endpoints[index] = new LocalNode.Endpoint(app.name(), binding.listener(), host, s.actualPort()))
                    .recover(t -> Future.failedFuture(bindError(binding, t))));
        }
        return Future.all(listening);
    }

    /** Endpoints bound by {@link #start()}, in the app's binding order. */
    List<LocalNode.Endpoint> endpoints() {
        return List.of(endpoints);
    }

    /** Runs the guest's first frame (it starts and waits for connections); completes once it has. */
    Future<Void> boot() {
        Promise<Void> p = Promise.promise();
        context.runOnContext(v -> {
            booted = p;
            cutFrame(nowNs());
        });
        return p.future();
    }

    @Override
    public Future<?> stop() {
        // From here on no frame is cut or applied; a frame being applied finishes before the machine closes.
        stopped = true;
        for (TcpConnection c : List.copyOf(connections.values())) {
            c.abort();
        }
        cancelTimers();
        List<Future<Void>> closing = new ArrayList<>();
        servers.forEach(s -> closing.add(s.close()));
        return Future.join(closing)
                .eventually(() -> onGuestThread(() -> {
                    machine.close();
                    return null;
                }))
                .eventually(() -> {
                    guestThread.shutdown();
                    return Future.succeededFuture();
                });
    }

    /** Runs {@code task} on the app's guest thread; the future completes on this verticle's event loop. */
    private <T> Future<T> onGuestThread(Callable<T> task) {
        Promise<T> done = Promise.promise();
        guestThread.execute(() -> {
            try {
                T result = task.call();
                context.runOnContext(v -> done.complete(result));
            } catch (Throwable t) {
                context.runOnContext(v -> done.fail(t));
            }
        });
        return done.future();
    }

    private UserError bindError(TcpBinding binding, Throwable t) {
        String where = "tcp " + host + ":" + binding.port();
        if (t instanceof BindException || String.valueOf(t.getMessage()).contains("in use")) {
            return new UserError(app.name() + ": cannot listen on " + where + ": the port is in use",
                    "stop the program using it (see `ss -ltnp 'sport = :" + binding.port() + "'`) or choose another port,"
                            + " e.g. --tcp " + (binding.port() + 1) + "=" + app.name());
        }
        return new UserError(app.name() + ": cannot listen on " + where + ": " + t.getMessage(),
                "check --host (an address of this machine, e.g. 127.0.0.1 or 0.0.0.0) and the port");
    }

    // ---- clients to events ----

    private void accept(NetSocket socket, String listener) {
        if (stopped) {
            socket.close();
            return;
        }
        if (connections.size() >= app.maxConnections()) {
            if (!refusingLogged) {
                refusingLogged = true;
                out.println(app.name() + ": refusing connections: " + app.maxConnections()
                        + " are open (maxConnections in the config)");
                out.flush();
            }
            socket.close();
            return;
        }
        refusingLogged = false;
        long id = nextConnection++;
        onEvent(new IngressEvent.Open(id, listener));
        connections.put(id, new TcpConnection(id, socket, app.limits().receiveBufferBytes(), this::onEvent,
                () -> connections.remove(id)));
    }

    private void onEvent(IngressEvent event) {
        if (stopped) {
            return;
        }
        batcher.add(event);
        cutDueFrames();
    }

    // ---- events to frames (the sequencer's job) ----

    /** A frame is cut at once when the guest is idle or the batch is full, else when the batch interval ends. */
    private void cutDueFrames() {
        while (!batcher.isEmpty() && (guestIdle() || batcher.isFull())) {
            cutFrame(nowNs());
        }
        if (!batcher.isEmpty() && batchTimer == NONE) {
            batchTimer = vertx.setTimer(batching.intervalMs(), id -> {
                batchTimer = NONE;
                if (!batcher.isEmpty() && !stopped) {
                    cutFrame(nowNs());
                }
            });
        }
    }

    private boolean guestIdle() {
        return !applying && frames.isEmpty();
    }

    private void cutFrame(long timeNs) {
        Frame frame = batcher.cut(timeNs, entropy());
        if (batcher.isEmpty() && batchTimer != NONE) {
            vertx.cancelTimer(batchTimer);
            batchTimer = NONE;
        }
        if (tickTimer != NONE && frame.timeNs() >= tickAtNs) {
            // This frame already wakes the guest's clock wait.
            vertx.cancelTimer(tickTimer);
            tickTimer = NONE;
        }
        frames.addLast(frame);
        applyNext();
    }

    /** A clock wait of the guest: a frame (with whatever events are waiting) is cut at {@code atNs}. */
    private void tickAt(long atNs) {
        if (tickTimer != NONE) {
            vertx.cancelTimer(tickTimer);
        }
        tickAtNs = atNs;
        long delayMs = Math.max(1, (atNs - nowNs() + 999_999) / 1_000_000);
        tickTimer = vertx.setTimer(delayMs, id -> {
            tickTimer = NONE;
            if (!stopped) {
                // Timers may fire a little early; the frame's time is never before what the guest asked for.
                cutFrame(Math.max(nowNs(), atNs));
            }
        });
    }

    // ---- frames to the guest (a replica's job) ----

    private void applyNext() {
        if (applying || frames.isEmpty() || stopped) {
            return;
        }
        Frame frame = frames.pollFirst();
        applying = true;
        onGuestThread(() -> machine.apply(frame)).onComplete(ar -> {
            applying = false;
            if (ar.succeeded()) {
                route(ar.result());
            } else {
                ar.cause().printStackTrace();
                stopApp("host error at frame " + frame.seq() + ": " + ar.cause()
                        + " (a Replicode bug: please report it with the lines above)");
            }
            if (booted != null) {
                booted.tryComplete();
                booted = null;
            }
            applyNext();
            cutDueFrames();
        });
    }

    // ---- outputs to clients (the gateway's job) ----

    private void route(List<Output> outputs) {
        for (Output o : outputs) {
            if (o instanceof Output.Send send) {
                withConnection(send.connection(), c -> c.guestSent(send.offset(), send.bytes()));
            } else if (o instanceof Output.Close close) {
                withConnection(close.connection(), c -> c.guestClosed(close.offset()));
            } else if (o instanceof Output.Reset reset) {
                withConnection(reset.connection(), TcpConnection::guestReset);
            } else if (o instanceof Output.Window window) {
                withConnection(window.connection(), c -> c.guestConsumed(window.bytes()));
            } else if (o instanceof Output.TimerRequest timer) {
                tickAt(timer.atNs());
            } else if (o instanceof Output.Log l) {
                log.append(l.fd(), l.bytes());
            } else if (o instanceof Output.Stopped s) {
                stopApp(s.reason());
            } else {
                throw new IllegalStateException("unknown output " + o);
            }
        }
    }

    /** Outputs for a connection whose client already left are dropped: the guest learns of it by a reset. */
    private void withConnection(long id, Consumer<TcpConnection> action) {
        TcpConnection c = connections.get(id);
        if (c != null) {
            action.accept(c);
        }
    }

    /** The guest stopped: its clients are reset, its ports closed; the node keeps running. */
    private void stopApp(String reason) {
        if (stopped) {
            return;
        }
        stopped = true;
        log.flush();
        out.println(app.name() + ": stopped: " + reason);
        out.println(app.name() + ": its connections were reset and its ports closed; the other apps keep running."
                + " Restart replicode to run it again.");
        out.flush();
        for (TcpConnection c : List.copyOf(connections.values())) {
            c.abort();
        }
        servers.forEach(NetServer::close);
        cancelTimers();
        frames.clear();
    }

    private void cancelTimers() {
        if (batchTimer != NONE) {
            vertx.cancelTimer(batchTimer);
            batchTimer = NONE;
        }
        if (tickTimer != NONE) {
            vertx.cancelTimer(tickTimer);
            tickTimer = NONE;
        }
    }

    private byte[] entropy() {
        byte[] e = new byte[32];
        random.nextBytes(e);
        return e;
    }

    /** Wall-clock time in ns since the Unix epoch; {@link FrameBatcher} keeps frame time from going back. */
    static long nowNs() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }
}
