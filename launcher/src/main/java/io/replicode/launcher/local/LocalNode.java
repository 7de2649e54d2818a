package io.replicode.launcher.local;

import io.replicode.launcher.UserError;
import io.replicode.launcher.config.AppConfig;
import io.replicode.launcher.config.NodeConfig;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.module.GuestModule;
import io.replicode.replica.module.ModuleRejectedException;
import io.replicode.replica.machine.GuestMachine;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The interim {@code replicode run}: one process, one guest machine per app, NO replication. Clients
 * reach each app's guest over TCP; their connections become frames that the one machine applies; its
 * outputs go back to the clients. There is no replay log, no sequencer and no replica set yet, so a
 * crash loses the apps' state and nothing is written under the data directory.
 *
 * <p>The pipeline issue replaces this class (and {@link LocalAppVerticle}) with gateway, sequencer and
 * replica verticles; the command line and the config file stay.
 */
public final class LocalNode implements AutoCloseable {
    private static final long START_TIMEOUT_SECONDS = 60;
    private static final long CLOSE_TIMEOUT_SECONDS = 15;

    /** A TCP port the node listens on, and the app listener it leads to. */
    public record Endpoint(String app, String listener, String host, int port) {}

    private final Vertx vertx;
    private final List<LocalAppVerticle> apps;
    private final List<Endpoint> endpoints;
    private final PrintWriter out;
    private boolean closed;

    private LocalNode(Vertx vertx, List<LocalAppVerticle> apps, PrintWriter out) {
        this.vertx = vertx;
        this.apps = apps;
        this.out = out;
        List<Endpoint> all = new ArrayList<>();
        apps.forEach(a -> all.addAll(a.endpoints()));
        this.endpoints = List.copyOf(all);
    }

    /**
     * Loads every app's module, binds every port, prints what listens where, and runs each guest's first
     * frame. Mistakes the user can fix (a rejected module, a busy port) are {@link UserError}s, and
     * nothing is left running after one.
     */
    public static LocalNode start(NodeConfig config, PrintWriter out) {
        List<GuestMachine> machines = new ArrayList<>();
        List<String> waitModes = new ArrayList<>();
        long genesisTimeNs = LocalAppVerticle.nowNs();
        SecureRandom random = new SecureRandom();
        try {
            for (AppConfig app : config.apps()) {
                GuestModule module = GuestModule.load(app.module(), config.engine());
                // The genesis seed is drawn afresh on every start: without a replay log there is no history to
                // keep deterministic across restarts.
                byte[] seed = new byte[32];
                random.nextBytes(seed);
                GuestConfig guest = GuestConfig.of(app.name(), app.listeners()).withLimits(app.limits())
                        .withArgs(app.args().isEmpty() ? List.of(app.name()) : app.args())
                        .withEnvironment(app.env())
                        .withPreopens(app.preopens())
                        .withGenesis(seed, genesisTimeNs);
                machines.add(GuestMachine.create(module, guest));
                waitModes.add(module.snapshotCapable() ? "asyncify" : "thread");
            }
        } catch (ModuleRejectedException e) {
            machines.forEach(GuestMachine::close);
            String what = e.fix() == null ? e.getMessage() : e.getMessage().substring(0, e.getMessage().lastIndexOf(". Fix: "));
            throw new UserError("app '" + config.apps().get(machines.size()).name() + "': " + what,
                    e.fix() == null ? "rebuild the module as a WASI preview 1 command" : e.fix());
        }

        Vertx vertx = Vertx.vertx();
        List<LocalAppVerticle> verticles = new ArrayList<>();
        try {
            for (int i = 0; i < config.apps().size(); i++) {
                LocalAppVerticle v = new LocalAppVerticle(config.apps().get(i), config.host(), config.batching(),
                        machines.get(i), genesisTimeNs, out);
                verticles.add(v);
                await(vertx.deployVerticle(v), "starting app '" + config.apps().get(i).name() + "'");
            }
        } catch (RuntimeException e) {
            closeQuietly(vertx);
            machines.forEach(GuestMachine::close);
            throw e;
        }
        LocalNode node = new LocalNode(vertx, verticles, out);
        out.println("replicode run: local node, one guest machine per app, NO replication yet"
                + " (the gateway, sequencer, replay log and replicas come with the pipeline)");
        for (int i = 0; i < verticles.size(); i++) {
            AppConfig app = config.apps().get(i);
            for (Endpoint e : verticles.get(i).endpoints()) {
                out.println(app.name() + ": tcp " + e.host() + ":" + e.port() + " -> listener '" + e.listener()
                        + "' (module " + app.module() + ", " + config.engine().name().toLowerCase() + ", "
                        + waitModes.get(i) + ")");
            }
        }
        out.flush();
        try {
            for (LocalAppVerticle v : verticles) {
                await(v.boot(), "running the first frame");
            }
        } catch (RuntimeException e) {
            node.close();
            throw e;
        }
        return node;
    }

    /** Every port the node listens on, app by app in configuration order. */
    public List<Endpoint> endpoints() {
        return endpoints;
    }

    /** The port of {@code app}'s first TCP binding. */
    public int port(String app) {
        return endpoints.stream().filter(e -> e.app().equals(app)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no app '" + app + "' on this node")).port();
    }

    /** Resets open connections, closes the ports and the guest machines. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(vertx);
        out.flush();
    }

    private static void closeQuietly(Vertx vertx) {
        try {
            vertx.close().await(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            System.err.println("replicode: shutting down took more than " + CLOSE_TIMEOUT_SECONDS + " s; exiting anyway");
        }
    }

    private static <T> T await(Future<T> f, String what) {
        try {
            return f.await(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException(what + " took more than " + START_TIMEOUT_SECONDS + " s", e);
        }
    }
}
