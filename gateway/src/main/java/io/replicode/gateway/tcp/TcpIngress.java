package io.replicode.gateway.tcp;

import io.replicode.gateway.GatewayConfig;
import io.replicode.gateway.ListenException;
import io.replicode.gateway.routing.NatTable;
import io.replicode.gateway.routing.Switchboard;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * The gateway's TCP ports: each accepted socket becomes a virtual connection to the listener its port is
 * bound to, carrying raw bytes both ways ({@link TcpConnection}). A connection the app cannot take (it
 * stopped, or has too many) is reset at once.
 */
public final class TcpIngress {
    /** One bound port. */
    public record Endpoint(String app, String listener, String host, int port) {}

    private final Vertx vertx;
    private final Switchboard switchboard;
    private final List<NetServer> servers = new ArrayList<>();
    private final List<Endpoint> endpoints = new ArrayList<>();

    public TcpIngress(Vertx vertx, Switchboard switchboard) {
        this.vertx = vertx;
        this.switchboard = switchboard;
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
                NetServer server = vertx.createNetServer(new NetServerOptions().setHost(config.host()).setPort(b.port()));
                server.connectHandler(socket -> accept(socket, app, b.listener()));
                servers.add(server);
                String where = "tcp " + config.host() + ":" + b.port() + " for app '" + app.name() + "' listener '"
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

    private void accept(NetSocket socket, GatewayConfig.App app, String listener) {
        String refusal = switchboard.refusal(app.name());
        if (refusal != null) {
            switchboard.countRefused(app.name());
            new TcpControl(socket, () -> { }).reset();
            return;
        }
        String external = socket.remoteAddress() + " -> :" + socket.localAddress().port();
        GatewayConfig.Limits limits = app.limits();
        switchboard.open(app.name(), listener, NatTable.Kind.TCP, external,
                id -> new TcpConnection(id, app.name(), socket, limits.receiveBufferBytes(), limits.sendWindowBytes(),
                        switchboard));
    }
}
