package io.replicode.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

/**
 * One member of a Replicode cluster: a clustered Vert.x whose cluster manager is Hazelcast configured from
 * {@link ClusterSettings}. The Hazelcast instance is exposed for what Vert.x does not offer (ringbuffers,
 * partition ownership).
 */
public final class ClusterBoot {
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
     * As {@link #start(ClusterSettings, VertxOptions)}; a {@code liteMember} holds no partitions (no frame ring
     * copies, never a sequencer) until {@link #promote()}d: a member joins this way, catches up, then takes its
     * share of the data.
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
        vertxOptions.getEventBusOptions().setHost(settings.host());
        long startNs = System.nanoTime();
        return Vertx.builder().with(vertxOptions).withClusterManager(manager).buildClustered()
                .recover(e -> Future.failedFuture(new IllegalStateException("cluster member " + settings.host() + ":"
                        + settings.port() + " could not start or join " + settings.members() + ": " + e.getMessage()
                        + ". Fix: check that the port is free and the other members use the same member list", e)))
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

    /** Makes this lite member a data member: partitions (and the frame rings in them) start migrating to it. */
    public void promote() {
        if (hazelcast().getCluster().getLocalMember().isLiteMember()) {
            hazelcast().getCluster().promoteLocalLiteMember();
        }
    }

    /** Leaves the cluster (the partitions this member owns migrate first) and closes Vert.x. */
    public Future<Void> close() {
        return vertx.close();
    }
}
