package io.replicode.gateway.routing;

import io.replicode.gateway.GatewayConfig;
import io.replicode.gateway.GuestLog;
import io.replicode.gateway.limits.ClientCounts;
import io.replicode.gateway.limits.LimitCounters;
import io.replicode.gateway.limits.Reason;
import io.replicode.gateway.limits.Refusal;
import io.replicode.nat.ConnectionIds;
import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.NatTable;
import io.replicode.nat.OutputBatch;
import java.io.PrintWriter;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * The middle of the gateway: external ends come in through {@link #open}, their events leave as ingress
 * batches, and replica outputs come back through {@link #onOutputs} to the right {@link Peer}. Owns the
 * {@link NatTable}, the {@link IngressBatcher} and the {@link OutputRouter}, and remembers which apps
 * stopped and why.
 *
 * <p>Single-threaded (the gateway's event loop); the event bus and the event loop are behind
 * {@link Transport}, so tests can drive it by hand.
 */
public final class Switchboard implements OutputRouter.Sink {
    /** A batch grows until the end of the event-loop turn, or until this size. */
    public static final int MAX_BATCH_BYTES = 1 << 20;

    /** How batches leave and when the end of a turn is. */
    public interface Transport {
        /** Sends {@code batch} to {@code app}'s sequencer. */
        void publish(String app, IngressBatch batch);

        /** Runs {@code task} after the current event-loop turn. */
        void later(Runnable task);

        /** Wall-clock milliseconds, for the NAT table's opening times. */
        long nowMs();
    }

    private final GatewayConfig config;
    private final Transport transport;
    private final PrintWriter out;
    private final NatTable<Peer> nat;
    private final IngressBatcher batcher;
    private final OutputRouter router;
    private final Map<String, GuestLog> logs = new HashMap<>();
    private final Map<String, String> stopped = new LinkedHashMap<>();
    private final Map<String, Long> recoveries = new LinkedHashMap<>();
    private final Map<String, String> lastRecovery = new LinkedHashMap<>();
    private final Map<String, Long> upgrades = new LinkedHashMap<>();
    private final Map<String, Upgrade> lastUpgrade = new LinkedHashMap<>();
    private final LimitCounters limits = new LimitCounters();
    private final ClientCounts clients = new ClientCounts();
    private long malformed;
    private String lastMalformed;

    /** Why no connection can be opened now (a cluster member cut off from the majority), or null. */
    private java.util.function.Supplier<String> availability = () -> null;

    /** In a cluster: says why this gateway cannot serve (e.g. its member is below the minimum cluster size). */
    public void availability(java.util.function.Supplier<String> check) {
        this.availability = check;
    }

    public Switchboard(GatewayConfig config, Transport transport, PrintWriter out) {
        this.config = config;
        this.transport = transport;
        this.out = out;
        this.nat = new NatTable<>(config.gatewayId(), config.firstConnectionCounter());
        this.batcher = new IngressBatcher(config.gatewayId(), MAX_BATCH_BYTES);
        this.router = new OutputRouter(config.gatewayId(), config.apps().stream().map(GatewayConfig.App::name).toList());
        for (GatewayConfig.App app : config.apps()) {
            logs.put(app.name(), new GuestLog(app.name(), out));
        }
    }

    public GatewayConfig config() {
        return config;
    }

    // ---- external ends in ----

    /**
     * Why a new connection of {@code app} from {@code client} (an address; null when there is none, as for
     * event-bus requests) cannot be opened now: the app stopped, has as many open as its limit allows, or
     * this client has as many as its per-client cap allows. Null when it can. The caller counts a refusal
     * with {@link #count}.
     */
    public Refusal admit(String app, String client) {
        String unavailable = availability.get();
        if (unavailable != null) {
            return new Refusal(Reason.UNAVAILABLE, "app '" + app + "' is unavailable at this gateway: " + unavailable);
        }
        String reason = stopped.get(app);
        if (reason != null) {
            return new Refusal(Reason.UNAVAILABLE, "app '" + app + "' stopped: " + reason);
        }
        GatewayConfig.Limits limits = config.app(app).limits();
        if (nat.count(app) >= limits.maxConnections()) {
            return new Refusal(Reason.APP_FULL, "app '" + app + "' has " + nat.count(app)
                    + " open connections at this gateway, its limit (maxConnections)");
        }
        if (client != null && clients.count(app, client) >= limits.maxConnectionsPerClient()) {
            return new Refusal(Reason.CLIENT_CAP, "client " + client + " has " + clients.count(app, client)
                    + " open connections to app '" + app + "', its limit (maxConnectionsPerClient)");
        }
        return null;
    }

    /** Counts a refusal or a timeout of {@code app}. */
    public void count(String app, Reason reason) {
        limits.add(app, reason);
    }

    /** Counts {@code bytes} of client input to {@code app} dropped because the connection closed before the guest read them. */
    public void discarded(String app, long bytes) {
        limits.discarded(app, bytes);
    }

    /**
     * Opens a virtual connection of {@code app}'s {@code listener} for a new external end; the guest is
     * told at once. The caller checked {@link #admit} first.
     */
    public NatTable.Mapping<Peer> open(String app, String listener, NatTable.Kind kind, String external,
                                       LongFunction<Peer> peer) {
        return open(app, listener, kind, external, null, peer);
    }

    /** As {@link #open(String, String, NatTable.Kind, String, LongFunction)}, counted against {@code client}'s cap. */
    public NatTable.Mapping<Peer> open(String app, String listener, NatTable.Kind kind, String external, String client,
                                       LongFunction<Peer> peer) {
        NatTable.Mapping<Peer> m = nat.open(app, listener, kind, external, transport.nowMs(), peer);
        clients.opened(m.connection(), app, client);
        router.track(m.connection(), app);
        emit(app, new IngressEvent.Open(m.connection(), listener));
        return m;
    }

    /** An event of one of {@code app}'s connections for its sequencer; sent with this turn's batch. */
    public void emit(String app, IngressEvent event) {
        if (event instanceof IngressEvent.Data d) {
            bytes(received, app).add(d.bytes().length);
        }
        if (batcher.add(app, event)) {
            transport.later(this::flush);
        }
        if (batcher.full(app)) {
            transport.publish(app, batcher.take(app));
        }
    }

    /**
     * The client of {@code connection} finished sending (its FIN): the connection no longer counts against its
     * address's {@code maxConnectionsPerClient}, though it stays in the NAT until the guest closes its side. A
     * client that closes and reconnects at once (redis-benchmark between tests, a connection pool) would otherwise
     * be refused while the guest has not yet seen the old connections end, a frame later.
     */
    public void clientFinished(long connection) {
        clients.closed(connection);
    }

    /** A peer is done: its connection leaves the NAT and later outputs for it are dropped. */
    public void finished(long connection) {
        nat.remove(connection);
        clients.closed(connection);
        router.forget(connection);
    }

    /** Sends every batch gathered so far. */
    public void flush() {
        for (String app : batcher.pendingApps()) {
            transport.publish(app, batcher.take(app));
        }
    }

    /**
     * The gateway stops: every guest learns its connections were reset, every client is cut off with
     * {@code reason}.
     */
    public void shutdown(String reason) {
        for (NatTable.Mapping<Peer> m : nat.all()) {
            emit(m.app(), new IngressEvent.Reset(m.connection()));
            m.peer().abort(reason);
            finished(m.connection());
        }
        flush();
    }

    // ---- outputs back ----

    /** A message on this gateway's outputs address: an encoded {@link OutputBatch}; anything else is dropped and counted. */
    public OutputRouter.Verdict onOutputs(byte[] body) {
        OutputBatch batch;
        try {
            OutputBatch.Header h = OutputBatch.peek(body);
            OutputRouter.Verdict dropped = router.screen(h.app(), h.replica(), h.seq());
            if (dropped != null) {
                return dropped;
            }
            batch = OutputBatch.decode(body);
        } catch (RuntimeException e) {
            malformed("output batch of " + body.length + " bytes: " + e.getMessage());
            return null;
        }
        return routeNow(batch);
    }

    /** A batch a replica in this process handed over as it is ({@code LocalGateways}): screened and routed as above. */
    public OutputRouter.Verdict onOutputs(OutputBatch batch) {
        OutputRouter.Verdict dropped = router.screen(batch.app(), batch.replica(), batch.seq());
        if (dropped != null) {
            return dropped;
        }
        return routeNow(batch);
    }

    private OutputRouter.Verdict routeNow(OutputBatch batch) {
        routingOutputs = true;
        try {
            return router.routeScreened(batch, this);
        } finally {
            routingOutputs = false;
            List<Runnable> later = new java.util.ArrayList<>(afterOutputs);
            afterOutputs.clear();
            later.forEach(Runnable::run);
        }
    }

    /** Whether an output batch is being routed now (see {@link #afterOutputs}). */
    private boolean routingOutputs;
    private final List<Runnable> afterOutputs = new java.util.ArrayList<>();

    /**
     * Runs {@code step} now, or, while an output batch is being routed, once the whole batch is: a later output of the
     * same batch (a close after the last bytes) may change what the step should do.
     */
    void afterOutputs(Runnable step) {
        if (routingOutputs) {
            afterOutputs.add(step);
        } else {
            step.run();
        }
    }

    /** Counts (and now and then prints) a message that could not be decoded. */
    public void malformed(String what) {
        malformed++;
        lastMalformed = what;
        if (Long.bitCount(malformed) == 1) {
            out.println("gateway " + config.gatewayId() + ": dropped a malformed " + what + " (" + malformed
                    + " so far; see /status)");
            out.flush();
        }
    }

    @Override
    public void send(long connection, byte[] bytes) {
        NatTable.Mapping<Peer> m = nat.get(connection);
        if (m != null) {
            bytes(sent, m.app()).add(bytes.length);
            m.peer().guestSent(bytes);
        }
    }

    /** Bytes {@code app}'s clients sent (as data events) and were sent (guest output handed to them), by app. */
    private final java.util.concurrent.ConcurrentHashMap<String, java.util.concurrent.atomic.LongAdder> received =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.ConcurrentHashMap<String, java.util.concurrent.atomic.LongAdder> sent =
            new java.util.concurrent.ConcurrentHashMap<>();

    private static java.util.concurrent.atomic.LongAdder bytes(
            java.util.concurrent.ConcurrentHashMap<String, java.util.concurrent.atomic.LongAdder> by, String app) {
        return by.computeIfAbsent(app, a -> new java.util.concurrent.atomic.LongAdder());
    }

    /** Times each app stopped (seen by this gateway). */
    private final java.util.concurrent.ConcurrentHashMap<String, Long> stops = new java.util.concurrent.ConcurrentHashMap<>();

    /** How many times {@code app} stopped since this gateway started. */
    public long stops(String app) {
        return stops.getOrDefault(app, 0L);
    }

    /** Bytes {@code app}'s clients sent to it through this gateway. */
    public long bytesReceived(String app) {
        return bytes(received, app).sum();
    }

    /** Bytes of {@code app}'s answers handed to its clients by this gateway. */
    public long bytesSent(String app) {
        return bytes(sent, app).sum();
    }

    @Override
    public void close(long connection) {
        Peer p = peer(connection);
        if (p != null) {
            p.guestClosed();
        }
    }

    @Override
    public void reset(long connection) {
        Peer p = peer(connection);
        if (p != null) {
            p.guestReset();
        }
    }

    @Override
    public void window(long connection, int bytes) {
        Peer p = peer(connection);
        if (p != null) {
            p.guestConsumed(bytes);
        }
    }

    @Override
    public void log(String app, int fd, byte[] bytes) {
        logs.get(app).append(fd, bytes);
    }

    @Override
    public void stopped(String app, String reason) {
        if (stopped.containsKey(app)) {
            return;
        }
        stopped.put(app, reason);
        stops.merge(app, 1L, Long::sum);
        logs.get(app).flush();
        List<NatTable.Mapping<Peer>> open = nat.of(app);
        out.println(app + ": stopped: " + reason + " (" + open.size() + " connections reset at gateway "
                + config.gatewayId() + "; new ones are refused)"
                + (reason.contains("Fix:") ? "" : ". Fix: ./replicode restart --app " + app + " (the app's files are kept)"));
        out.flush();
        for (NatTable.Mapping<Peer> m : open) {
            m.peer().abort("app '" + app + "' stopped: " + reason);
            finished(m.connection());
        }
    }

    @Override
    public void recovered(String app, String report) {
        recoveries.merge(app, 1L, Long::sum);
        lastRecovery.put(app, report);
        boolean wasStopped = stopped.remove(app) != null;
        logs.get(app).flush();
        out.println(app + ": recovered: " + report + (wasStopped ? " (serving again)" : ""));
        out.flush();
    }

    @Override
    public void upgraded(String app, String moduleSha256, String report) {
        upgrades.merge(app, 1L, Long::sum);
        lastUpgrade.put(app, new Upgrade(moduleSha256, report));
        boolean wasStopped = stopped.remove(app) != null;
        logs.get(app).flush();
        out.println(app + ": " + report + (wasStopped ? " (serving again)" : ""));
        out.flush();
    }

    /** The last upgrade this gateway saw an app through: the module it runs since, and how the switch went. */
    public record Upgrade(String moduleSha256, String report) {}

    /** Upgrades of {@code app} this gateway saw. */
    public long upgrades(String app) {
        return upgrades.getOrDefault(app, 0L);
    }

    /** The last upgrade of {@code app} this gateway saw, or null. */
    public Upgrade lastUpgrade(String app) {
        return lastUpgrade.get(app);
    }

    /**
     * Asks for an upgrade of {@code app} to the module with {@code moduleSha256}, which every replica already has: an
     * {@link IngressEvent.Upgrade} in this gateway's next ingress batch, so every replica switches at the same frame.
     */
    public void requestUpgrade(String app, String moduleSha256, int graceFrames) {
        emit(app, new IngressEvent.Upgrade(moduleSha256, graceFrames));
        flush();
    }

    /** Faults the app recovered from, and restarts, as this gateway saw them. */
    public long recoveries(String app) {
        return recoveries.getOrDefault(app, 0L);
    }

    /** The last recovery report of {@code app}, or null. */
    public String lastRecovery(String app) {
        return lastRecovery.get(app);
    }

    /**
     * Asks for a restart of {@code app}: a {@link IngressEvent.Restart} in this gateway's next ingress batch, so every
     * replica restarts the module at the same frame (its files stay). Works for a stopped app too.
     */
    public void requestRestart(String app) {
        emit(app, new IngressEvent.Restart());
        flush();
    }

    @Override
    public void misaligned(String app, long connection, String problem) {
        out.println("gateway " + config.gatewayId() + ": app '" + app + "' connection "
                + ConnectionIds.format(connection) + ": " + problem + "; the connection is reset"
                + " (a Replicode bug: replicas' outputs must line up; please report it)");
        out.flush();
        emit(app, new IngressEvent.Reset(connection));
        Peer p = peer(connection);
        if (p != null) {
            p.abort("the app's output for this connection was out of order");
        }
        finished(connection);
    }

    /** A peer that finds the guest broke the flow-control contract: reset both ways and said so. */
    public void violation(String app, long connection, String problem) {
        misaligned(app, connection, problem);
    }

    private Peer peer(long connection) {
        NatTable.Mapping<Peer> m = nat.get(connection);
        return m == null ? null : m.peer();
    }

    // ---- what /status shows ----

    public NatTable<Peer> nat() {
        return nat;
    }

    public OutputRouter router() {
        return router;
    }

    public IngressBatcher batcher() {
        return batcher;
    }

    /** Why {@code app} stopped, or null while it runs. */
    public String stopReason(String app) {
        return stopped.get(app);
    }

    /** Connections of {@code app} refused before they opened, for any reason. */
    public long refused(String app) {
        return limits.refused(app);
    }

    /** Refusals, timeouts and discarded input, per app and reason. */
    public LimitCounters limits() {
        return limits;
    }

    /** Open connections per client address. */
    public ClientCounts clients() {
        return clients;
    }

    /** Messages dropped because they could not be decoded. */
    public long malformed() {
        return malformed;
    }

    /** What the last malformed message was, or null. */
    public String lastMalformed() {
        return lastMalformed;
    }
}
