package io.replicode.gateway.status;

import io.replicode.gateway.GatewayConfig;
import io.replicode.gateway.routing.OutputRouter;
import io.replicode.gateway.routing.Peer;
import io.replicode.gateway.routing.Switchboard;
import io.replicode.gateway.tcp.TcpIngress;
import io.replicode.nat.ConnectionIds;
import io.replicode.nat.NatTable;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;

/**
 * What the gateway knows about itself, as the JSON of {@code GET /status}: its apps (listeners, ports,
 * whether they stopped and why), open connections, NAT mappings (a bounded list with the full count), and
 * the counters of output routing (duplicates dropped, malformed messages, misaligned streams).
 */
public final class StatusReport {
    private StatusReport() {}

    /** What {@code external} shows when no admin token is set: client addresses and request lines are not for everyone. */
    public static final String HIDDEN = "(hidden: set an admin token to see client addresses)";

    /**
     * @param endpoints   the bound TCP ports
     * @param httpPort    the bound HTTP port
     * @param showClients whether the NAT mappings show each client's address and request line (only to the holder of
     *                    the admin token)
     */
    public static JsonObject of(Switchboard switchboard, List<TcpIngress.Endpoint> endpoints, int httpPort,
                                long startedAtMs, long nowMs, boolean showClients) {
        GatewayConfig config = switchboard.config();
        NatTable<Peer> nat = switchboard.nat();
        OutputRouter router = switchboard.router();

        JsonArray apps = new JsonArray();
        for (GatewayConfig.App app : config.apps()) {
            JsonArray tcp = new JsonArray();
            for (TcpIngress.Endpoint e : endpoints) {
                if (e.app().equals(app.name())) {
                    tcp.add(new JsonObject().put("port", e.port()).put("listener", e.listener()));
                }
            }
            String reason = switchboard.stopReason(app.name());
            apps.add(new JsonObject()
                    .put("name", app.name())
                    .put("state", reason == null ? "running" : "stopped")
                    .put("stoppedReason", reason)
                    .put("listeners", new JsonArray(app.listeners()))
                    .put("tcp", tcp)
                    .put("http", app.httpListener() == null ? null : "/" + app.name() + "/ -> " + app.httpListener())
                    .put("eventBus", io.replicode.nat.Addresses.request(app.name()))
                    .put("connections", nat.count(app.name()))
                    .put("refused", switchboard.refused(app.name()))
                    .put("recoveries", switchboard.recoveries(app.name()))
                    .put("lastRecovery", switchboard.lastRecovery(app.name()))
                    .put("upgrades", switchboard.upgrades(app.name()))
                    .put("module", switchboard.lastUpgrade(app.name()) == null ? null
                            : switchboard.lastUpgrade(app.name()).moduleSha256())
                    .put("lastUpgrade", switchboard.lastUpgrade(app.name()) == null ? null
                            : switchboard.lastUpgrade(app.name()).report())
                    .put("limits", switchboard.limits().json(app.name())
                            .put("maxConnections", app.limits().maxConnections())
                            .put("maxConnectionsPerClient", app.limits().maxConnectionsPerClient())
                            .put("idleTimeoutMs", app.limits().idleTimeoutMs())
                            .put("headerTimeoutMs", app.limits().headerTimeoutMs())
                            .put("bodyTimeoutMs", app.limits().bodyTimeoutMs())
                            .put("minBodyBytesPerSecond", app.limits().minBodyBytesPerSecond()))
                    .put("lastOutputSeq", router.lastSeq(app.name()))
                    .put("lastIngressBatch", switchboard.batcher().lastBatchSeq(app.name())));
        }

        JsonArray mappings = new JsonArray();
        for (NatTable.Mapping<Peer> m : nat.list(config.statusMappings())) {
            Peer p = m.peer();
            mappings.add(new JsonObject()
                    .put("connection", ConnectionIds.format(m.connection()))
                    .put("app", m.app())
                    .put("listener", m.listener())
                    .put("kind", m.kind().label())
                    .put("external", showClients ? m.external() : HIDDEN)
                    .put("openedAt", Instant.ofEpochMilli(m.openedAtMs()).toString())
                    .put("guestBytesSent", router.sentBytes(m.connection()))
                    .put("heldFromClient", p.heldFromClient())
                    .put("inFlightToGuest", p.inFlightToGuest())
                    .put("pendingToClient", p.pendingToClient()));
        }

        return new JsonObject()
                .put("gateway", new JsonObject()
                        .put("id", config.gatewayId())
                        .put("host", config.host())
                        .put("httpPort", httpPort)
                        .put("startedAt", Instant.ofEpochMilli(startedAtMs).toString())
                        .put("uptimeMs", nowMs - startedAtMs))
                .put("apps", apps)
                .put("connections", new JsonObject()
                        .put("open", nat.size())
                        .put("tcp", nat.count(NatTable.Kind.TCP))
                        .put("http", nat.count(NatTable.Kind.HTTP))
                        .put("eventBus", nat.count(NatTable.Kind.EVENT_BUS))
                        .put("openedSinceStart", nat.opened()))
                .put("nat", new JsonObject()
                        .put("count", nat.size())
                        .put("listed", mappings.size())
                        .put("mappings", mappings))
                .put("ingress", new JsonObject()
                        .put("events", switchboard.batcher().eventsTaken()))
                .put("outputs", new JsonObject()
                        .put("batchesApplied", router.applied())
                        .put("duplicatesDropped", router.duplicates())
                        .put("divergedReplicaBatchesDropped", router.distrustedDropped())
                        .put("unknownAppDropped", router.unknownApp())
                        .put("malformedDropped", switchboard.malformed())
                        .put("lastMalformed", switchboard.lastMalformed())
                        .put("misalignedResets", router.misaligned())
                        .put("orphanOutputs", router.orphans())
                        .put("overlapBytesDropped", router.overlapBytes()));
    }
}
