package io.replicode.gateway.tcp;

import io.replicode.gateway.GatewayConfig;
import io.replicode.gateway.ListenException;
import io.replicode.gateway.limits.AcceptPacer;
import io.replicode.gateway.limits.Reason;
import io.replicode.gateway.limits.Refusal;
import io.replicode.gateway.routing.Switchboard;
import io.replicode.nat.NatTable;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The gateway's TCP ports: each accepted socket becomes a virtual connection to the listener its port is
 * bound to, carrying raw bytes both ways ({@link TcpConnection}). A connection the app cannot take (it
 * stopped, has {@code maxConnections}, or the client address has {@code maxConnectionsPerClient}) is refused
 * at once: a RESP listener's client reads {@code -ERR max number of clients reached} (as from Redis), any
 * other is reset. When the process runs short of descriptors, accepting pauses ({@link AcceptPacer}).
 */
public final class TcpIngress {
    /** One bound port. */
    public record Endpoint(String app, String listener, String host, int port) {}

    private final Vertx vertx;
    private final Switchboard switchboard;
    private final List<NetServer> servers = new ArrayList<>();
    private final List<Endpoint> endpoints = new ArrayList<>();
    private final AcceptPacer pacer;

    /** How long a refused RESP client may take to read its error before the socket is reset. */
    static final long REFUSAL_LINGER_MS = 1_000;
    static final String RESP_FULL = "-ERR max number of clients reached\r\n";

    /** The certificate and key every port speaks TLS with, or null: plain TCP. */
    private final io.vertx.core.net.PemKeyCertOptions tls;

    public TcpIngress(Vertx vertx, Switchboard switchboard, AcceptPacer pacer) {
        this(vertx, switchboard, pacer, null);
    }

    /** With {@code tls} (null: plain TCP) on every app port. */
    public TcpIngress(Vertx vertx, Switchboard switchboard, AcceptPacer pacer, io.vertx.core.net.PemKeyCertOptions tls) {
        this.vertx = vertx;
        this.switchboard = switchboard;
        this.pacer = pacer;
        this.tls = tls;
    }

    /** Binds every app's TCP ports; fails with a {@link ListenException} naming the first port that could not be bound. */
    public Future<Void> listen() {
        GatewayConfig config = switchboard.config();
        List<Future<NetServer>> listening = new ArrayList<>();
        endpoints.clear();
        for (GatewayConfig.App app : config.apps()) {
            for (GatewayConfig.TcpBinding b : app.tcp()) {
                int index = endpoints.size();
                endpoints.add(null);
                NetServerOptions options = new NetServerOptions().setHost(config.host()).setPort(b.port());
                if (tls != null) {
                    options.setSsl(true).setKeyCertOptions(tls);
                }
                NetServer server = vertx.createNetServer(options);
                server.connectHandler(socket -> accept(socket, app, b));
                servers.add(server);
                String where = (tls == null ? "tcp " : "tls ") + config.host() + ":" + b.port() + " for app '" + app.name() + "' listener '"
                        + b.listener() + "'";
                listening.add(server.listen()
                        .onSuccess(s -> endpoints.set(index, new Endpoint(app.name(), b.listener(), config.host(), s.actualPort())))
                        .recover(t -> Future.failedFuture(ListenException.of(where, config.host(), b.port(), t))));
            }
        }
        return Future.all(listening).mapEmpty();
    }

    /** The bound ports in configuration order, with their actual port numbers (also for port 0); valid once {@link #listen} succeeded. */
    public List<Endpoint> endpoints() {
        return List.copyOf(endpoints);
    }

    public Future<Void> close() {
        List<Future<Void>> closing = new ArrayList<>();
        servers.forEach(s -> closing.add(s.close()));
        return Future.join(closing).mapEmpty();
    }

    /**
     * How long a client at its per-address cap waits, not read from, for one of its connections to end before it is
     * refused. A client that closes connections and opens new ones at once (redis-benchmark between its tests, a
     * connection pool) races the gateway seeing the old ones' FIN against accepting the new ones, and was refused
     * "max number of clients reached" with only its closing connections over the cap.
     */
    static final long CAP_GRACE_MS = 250;
    private static final long CAP_RETRY_MS = 10;
    /** Connections waiting out the grace at once, at most: beyond it (a connect flood from one address) refusal is immediate. */
    static final int MAX_WAITING = 256;
    private int waiting;

    private void accept(NetSocket socket, GatewayConfig.App app, GatewayConfig.TcpBinding binding) {
        TcpControl control = new TcpControl(socket);
        pacer.watch(control.serverChannel());
        String client = socket.remoteAddress() == null ? null : socket.remoteAddress().hostAddress();
        admit(socket, control, app, binding, client, CAP_GRACE_MS / CAP_RETRY_MS, new boolean[1], false);
    }

    /** Admits the connection, or retries while it is over its client's cap only ({@link #CAP_GRACE_MS}), or refuses it. */
    private void admit(NetSocket socket, TcpControl control, GatewayConfig.App app, GatewayConfig.TcpBinding binding,
                       String client, long retries, boolean[] gone, boolean isWaiting) {
        if (gone[0]) {
            waiting--;
            return; // the client left while it waited
        }
        Refusal refusal = switchboard.admit(app.name(), client);
        if (refusal != null && refusal.reason() == Reason.CLIENT_CAP && retries > 0 && (isWaiting || waiting < MAX_WAITING)) {
            if (!isWaiting) {
                waiting++;
                control.reading(false);
                socket.closeHandler(v -> gone[0] = true);
            }
            vertx.setTimer(CAP_RETRY_MS, t -> admit(socket, control, app, binding, client, retries - 1, gone, true));
            return;
        }
        if (isWaiting) {
            waiting--;
        }
        if (refusal != null) {
            switchboard.count(app.name(), refusal.reason());
            control.refuse(refusalMessage(binding.protocol(), refusal), vertx, REFUSAL_LINGER_MS);
            return;
        }
        control.reading(true);
        String external = socket.remoteAddress() + " -> :" + socket.localAddress().port();
        GatewayConfig.Limits limits = app.limits();
        switchboard.open(app.name(), binding.listener(), NatTable.Kind.TCP, external, client,
                id -> new TcpConnection(id, app.name(), socket, control, limits.receiveBufferBytes(),
                        limits.sendWindowBytes(), limits.idleTimeoutMs(), vertx, switchboard));
    }

    /** What a refused client reads before the connection closes: empty for a reset. */
    static byte[] refusalMessage(GatewayConfig.Protocol protocol, Refusal refusal) {
        if (protocol != GatewayConfig.Protocol.RESP) {
            return new byte[0];
        }
        String line = refusal.reason() == Reason.APP_FULL || refusal.reason() == Reason.CLIENT_CAP ? RESP_FULL
                : "-ERR " + refusal.message().replace('\r', ' ').replace('\n', ' ') + "\r\n";
        return line.getBytes(StandardCharsets.UTF_8);
    }
}
