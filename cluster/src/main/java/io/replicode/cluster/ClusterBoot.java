package io.replicode.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

/**
 * One member of a Replicode cluster: a clustered Vert.x whose cluster manager is Hazelcast configured from
 * {@link ClusterSettings}. The Hazelcast instance is exposed for what Vert.x does not offer (membership events,
 * small maps).
 *
 * <p>Identity: a member is named by its Vert.x node id, which stays the same for the life of the process. Hazelcast
 * gives a member a new UUID every time it merges back after a split or a long pause, so nothing may key on that.
 */
public final class ClusterBoot {
    static final long EVENT_BUS_PING_MS = 1_000;
    static final long EVENT_BUS_PING_REPLY_MS = 2_000;
    static final int EVENT_BUS_CONNECT_TIMEOUT_MS = 2_000;

    private final ClusterSettings settings;
    private final Vertx vertx;
    private final HazelcastClusterManager manager;
    private final long joinMs;

    private ClusterBoot(ClusterSettings settings, Vertx vertx, HazelcastClusterManager manager, long joinMs) {
        this.settings = settings;
        this.vertx = vertx;
        this.manager = manager;
        this.joinMs = joinMs;
    }

    /** Starts Hazelcast, joins the cluster and starts the clustered event bus on {@code settings.host()}. */
    public static Future<ClusterBoot> start(ClusterSettings settings) {
        return start(settings, new VertxOptions());
    }

    /** As {@link #start(ClusterSettings)}, with Vert.x options of the caller (the event bus host is set here). */
    public static Future<ClusterBoot> start(ClusterSettings settings, VertxOptions options) {
        return start(settings, options, false);
    }

    /**
     * As {@link #start(ClusterSettings, VertxOptions)}; a {@code liteMember} holds no Hazelcast partitions (a
     * gateway-only member).
     */
    public static Future<ClusterBoot> start(ClusterSettings settings, VertxOptions options, boolean liteMember) {
        Config config;
        try {
            config = settings.toConfig();
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        config.setLiteMember(liteMember);
        HazelcastClusterManager manager = new HazelcastClusterManager(config);
        VertxOptions vertxOptions = new VertxOptions(options);
        vertxOptions.getEventBusOptions().setHost(settings.host())
                // A connection to a member across a healed partition is found dead by these pings; with Vert.x's
                // defaults (20 s) messages waited on stale connections for seconds after the heal.
                .setClusterPingInterval(EVENT_BUS_PING_MS).setClusterPingReplyInterval(EVENT_BUS_PING_REPLY_MS)
                .setConnectTimeout(EVENT_BUS_CONNECT_TIMEOUT_MS);
        if (settings.tls() != null) {
            ClusterSettings.Tls tls = settings.tls();
            vertxOptions.getEventBusOptions().setSsl(true)
                    .setKeyCertOptions(new io.vertx.core.net.PemKeyCertOptions().setCertPath(tls.cert().toString())
                            .setKeyPath(tls.key().toString()))
                    .setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(tls.ca().toString()))
                    .setClientAuth(io.vertx.core.http.ClientAuth.REQUIRED);
        }
        long startNs = System.nanoTime();
        return Vertx.builder().with(vertxOptions).withClusterManager(manager).buildClustered()
                .recover(e -> Future.failedFuture(new io.replicode.FixableException("cluster member " + settings.host() + ":"
                        + settings.port() + " could not start or join " + settings.members() + ": " + e.getMessage(),
                        "check that the port is free and the other members use the same member list", e)))
                .map(vertx -> new ClusterBoot(settings, vertx, manager, (System.nanoTime() - startNs) / 1_000_000));
    }

    public ClusterSettings settings() {
        return settings;
    }

    public Vertx vertx() {
        return vertx;
    }

    public HazelcastInstance hazelcast() {
        return manager.getHazelcastInstance();
    }

    /** Milliseconds from {@link #start} to a joined member with its event bus up. */
    public long joinMs() {
        return joinMs;
    }

    /** Members this member currently sees, itself included. */
    public int clusterSize() {
        return hazelcast().getCluster().getMembers().size();
    }

    /** This member's Vert.x node id: stable for the life of the process, unlike its Hazelcast UUID. */
    public String nodeId() {
        return manager.getNodeId();
    }

    /** Node ids of the members this member sees now, itself included. */
    public java.util.Set<String> liveNodeIds() {
        return java.util.Set.copyOf(manager.getNodes());
    }

    /** Leaves the cluster and closes Vert.x. */
    public Future<Void> close() {
        return vertx.close();
    }
}
