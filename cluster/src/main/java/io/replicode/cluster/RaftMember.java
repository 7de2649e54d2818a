package io.replicode.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

/**
 * This member's Raft server (Apache Ratis, gRPC transport): one server per member process, one Raft group per app
 * (group id derived from the app's name), storage under {@code <data>/raft}.
 *
 * <p>One group per app, not a fixed set of groups: leadership, snapshots and log purging are then per app, as the
 * sequencer and the replicas' snapshots are; the cost is a heartbeat stream per app and peer, fine for the tens of
 * apps a member hosts.
 *
 * <p><b>Peer ids</b> are stable: the member's listed address ({@code host:port} of {@code --cluster-members}) turned
 * into {@code host_port}, written to {@code <data>/raft/peer-id} at the first start. A member started later with the
 * same data directory but another address is refused (its id would change under the group). Every member can compute
 * every other member's id and Raft address ({@link #raftAddress}: the listed host, the listed port +
 * {@link #RAFT_PORT_OFFSET}) from the list, so the first start of a cluster forms each group from the list.
 *
 * <p><b>Timeouts.</b> Ratis's default election timeout (150-300 ms) caused spurious elections on a loaded 2-core box;
 * 1-2 s kept leadership stable but failover took 2.6 s (kill -9 to the first acknowledged write); 700-1400 ms is the
 * compromise (heartbeats every 350 ms).
 */
public final class RaftMember implements AutoCloseable {
    /** A member's Raft port is its Hazelcast port plus this. */
    public static final int RAFT_PORT_OFFSET = 1000;
    static final int ELECTION_MIN_MS = 700;
    static final int ELECTION_MAX_MS = 1400;

    /**
     * @param dir              Raft storage ({@code <data>/raft})
     * @param self             this member's listed address, {@code host:port}
     * @param members          every listed member, this one included
     * @param electionMinMs    election timeout range
     * @param snapshotEveryIndexes Ratis asks the state machines for a snapshot after this many log entries
     */
    public record Options(Path dir, String self, List<String> members, int electionMinMs, int electionMaxMs,
                          long snapshotEveryIndexes, ClusterSettings.Tls tls) {
        public Options {
            members = List.copyOf(members);
        }

        /** The same, with mutual TLS on the Raft traffic (null: plain). */
        public Options withTls(ClusterSettings.Tls tls) {
            return new Options(dir, self, members, electionMinMs, electionMaxMs, snapshotEveryIndexes, tls);
        }

        /**
         * Options for a member whose replicas snapshot every {@code snapshotEveryFrames} frames (0: never): Raft asks
         * for a snapshot after twice that many entries, so the newest replica snapshot is always recent enough.
         */
        public static Options of(Path dir, String self, List<String> members, long snapshotEveryFrames) {
            return new Options(dir, self, members, Integer.getInteger("replicode.raft.electionMinMs", ELECTION_MIN_MS),
                    Integer.getInteger("replicode.raft.electionMaxMs", ELECTION_MAX_MS),
                    snapshotEveryFrames <= 0 ? Long.MAX_VALUE / 4 : Math.max(100, 2 * snapshotEveryFrames), null);
        }
    }

    private final Options options;
    private final RaftPeerId id;
    private final RaftProperties properties;
    private final RaftServer server;
    private final ClientId adminClientId = ClientId.randomId();
    /** The client id of this member's own sequencer's entries (retry cache keys are (client id, call id)). */
    private final ClientId localClientId = ClientId.randomId();
    private final AtomicLong callIds = new AtomicLong();

    private RaftMember(Options options, RaftPeerId id, RaftProperties properties, RaftServer server) {
        this.options = options;
        this.id = id;
        this.properties = properties;
        this.server = server;
    }

    /** The Raft group of {@code app}: the same id on every member. */
    public static RaftGroupId groupOf(String app) {
        return RaftGroupId.valueOf(UUID.nameUUIDFromBytes(("replicode app " + app).getBytes(StandardCharsets.UTF_8)));
    }

    /** The peer id of the member listed as {@code hostPort}. */
    public static RaftPeerId peerIdOf(String hostPort) {
        return RaftPeerId.valueOf(hostPort.replace(':', '_'));
    }

    /** The Raft address of the member listed as {@code hostPort}: same host, port + {@link #RAFT_PORT_OFFSET}. */
    public static String raftAddress(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        int port = Integer.parseInt(hostPort.substring(colon + 1)) + RAFT_PORT_OFFSET;
        if (port > 65535) {
            throw new io.replicode.FixableException("member " + hostPort + ": its Raft port would be " + port
                    + " (the cluster port + " + RAFT_PORT_OFFSET + ")", "give cluster ports below " + (65536 - RAFT_PORT_OFFSET));
        }
        return hostPort.substring(0, colon) + ":" + port;
    }

    public static RaftPeer peerOf(String hostPort) {
        return RaftPeer.newBuilder().setId(peerIdOf(hostPort)).setAddress(raftAddress(hostPort)).build();
    }

    /**
     * Starts this member's Raft server. Groups found in the storage are recovered at once (their state machines come
     * from {@code machineOf}); {@link #join} adds the others.
     */
    public static RaftMember start(Options options, java.util.function.Function<RaftGroupId, AppStateMachine> machineOf) {
        RaftPeerId id = stablePeerId(options.dir(), options.self());
        RaftProperties p = new RaftProperties();
        String address = raftAddress(options.self());
        String host = address.substring(0, address.lastIndexOf(':'));
        int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
        if ("netty".equals(System.getProperty("replicode.raft.rpc", "grpc"))) {
            RaftConfigKeys.Rpc.setType(p, SupportedRpcType.NETTY);
            org.apache.ratis.netty.NettyConfigKeys.Server.setHost(p, host);
            org.apache.ratis.netty.NettyConfigKeys.Server.setPort(p, port);
        } else {
            RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
            GrpcConfigKeys.Server.setHost(p, host);
            GrpcConfigKeys.Server.setPort(p, port);
        }
        RaftServerConfigKeys.setStorageDir(p, List.of(options.dir().toFile()));
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(options.electionMinMs(), TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(options.electionMaxMs(), TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(p, TimeDuration.valueOf(options.electionMinMs(), TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(p, TimeDuration.valueOf(options.electionMaxMs(), TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, options.snapshotEveryIndexes());
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf("8MB"));
        RaftServerConfigKeys.Log.setPreallocatedSize(p, SizeInBytes.valueOf("1MB"));
        // After errors the leader's appender to a follower backs off, by default to 5 s per try after 30 errors: a member
        // back from a 20 s partition then waited up to 5 s for its log, and so did its clients. Retry every 500 ms.
        RaftServerConfigKeys.Log.Appender.setRetryPolicy(p, "1ms,10, 100ms,20, 500ms,1000000");
        // Commit-index (log-metadata) entries stay on, as in Ratis's default: the leader appends one after each commit
        // and sends it at once, which is how followers learn the commit index promptly. Turned off, a follower learned
        // it only with the next heartbeat, and every answer from a follower's replica waited ~350 ms (measured: 389 ms
        // per SET through a follower against 49 ms through the leader).
        RaftServerConfigKeys.Log.setLogMetadataEnabled(p, true);
        try {
            RaftServer server = RaftServer.newBuilder().setServerId(id).setProperties(p).setParameters(parameters(options))
                    .setStateMachineRegistry(machineOf::apply)
                    .setOption(RaftStorage.StartupOption.RECOVER).build();
            RaftMember member = new RaftMember(options, id, p, server);
            server.start();
            return member;
        } catch (IOException e) {
            throw new io.replicode.FixableException("Raft server on " + address + " did not start: " + e.getMessage(), "check"
                    + " that port " + address.substring(address.lastIndexOf(':') + 1) + " is free (the cluster port + "
                    + RAFT_PORT_OFFSET + ") and that " + options.dir() + " is writable", e);
        }
    }

    /**
     * Ratis's parameters: with TLS, the same mutual TLS for the server, its clients and the admin client (gRPC only; the
     * Netty transport, a test option, has none).
     */
    static org.apache.ratis.conf.Parameters parameters(Options options) {
        org.apache.ratis.conf.Parameters parameters = new org.apache.ratis.conf.Parameters();
        if (options.tls() != null) {
            ClusterSettings.Tls tls = options.tls();
            org.apache.ratis.grpc.GrpcTlsConfig conf = new org.apache.ratis.grpc.GrpcTlsConfig(tls.key().toFile(),
                    tls.cert().toFile(), tls.ca().toFile(), true);
            GrpcConfigKeys.TLS.setConf(parameters, conf);
            GrpcConfigKeys.Server.setTlsConf(parameters, conf);
            GrpcConfigKeys.Client.setTlsConf(parameters, conf);
            GrpcConfigKeys.Admin.setTlsConf(parameters, conf);
        }
        return parameters;
    }

    /** Reads {@code <dir>/peer-id}, writing it at the first start; refuses a data directory of another address. */
    static RaftPeerId stablePeerId(Path dir, String self) {
        RaftPeerId wanted = peerIdOf(self);
        Path file = dir.resolve("peer-id");
        try {
            Files.createDirectories(dir);
            if (Files.exists(file)) {
                String had = Files.readString(file, StandardCharsets.UTF_8).strip();
                if (!had.equals(wanted.toString())) {
                    throw new io.replicode.FixableException("this data directory belongs to Raft peer " + had + ", but this member is"
                            + " listed as " + self + " (peer " + wanted + ")", "start it with the address it had ("
                            + had.replace('_', ':') + "), or give it an empty --data directory to join as a new member");
                }
            } else {
                Files.writeString(file, wanted + "\n", StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new io.replicode.FixableException("cannot read or write " + file + ": " + e.getMessage(),
                    "make the data directory writable", e);
        }
        return wanted;
    }

    /** Whether this member's storage already holds the group of {@code app} (recovered at start). */
    public boolean hasGroup(String app) {
        for (RaftGroupId g : server.getGroupIds()) {
            if (g.equals(groupOf(app))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Adds the group of {@code app} to this server: formed from every listed member when {@code bootstrap} (the
     * first start of a cluster), else with no peers (a new member waiting for the leader to add it).
     */
    public void join(String app, boolean bootstrap) {
        List<RaftPeer> peers = new ArrayList<>();
        if (bootstrap) {
            for (String m : options.members()) {
                peers.add(peerOf(m));
            }
        }
        RaftGroup group = RaftGroup.valueOf(groupOf(app), peers);
        try {
            RaftClientReply r = server.groupManagement(GroupManagementRequest.newAdd(adminClientId, id,
                    callIds.incrementAndGet(), group, true));
            if (!r.isSuccess()) {
                throw new IllegalStateException("Raft group of '" + app + "' not added: " + r.getException());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Raft group of '" + app + "' not added: " + e.getMessage(), e);
        }
    }

    public RaftServer.Division division(String app) throws IOException {
        return server.getDivision(groupOf(app));
    }

    /**
     * Submits one entry for {@code app}'s group straight to this member's server (no client, no network hop): the
     * leader's sequencer sends its frames this way. Entries submitted from one thread are appended in that order.
     * The reply completes once the entry is committed by a majority and applied here, or fails (this member is not
     * the leader, or lost leadership before the entry committed).
     */
    public CompletableFuture<RaftClientReply> submitLocal(String app, byte[] entry) {
        org.apache.ratis.protocol.RaftClientRequest request = org.apache.ratis.protocol.RaftClientRequest.newBuilder()
                .setClientId(localClientId).setServerId(id).setGroupId(groupOf(app)).setCallId(callIds.incrementAndGet())
                .setMessage(org.apache.ratis.protocol.Message.valueOf(
                        org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations.unsafeWrap(entry)))
                .setType(org.apache.ratis.protocol.RaftClientRequest.writeRequestType()).build();
        try {
            return server.submitClientRequestAsync(request);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * Changes the voters of {@code app}'s group (run on the leader): Ratis first brings new peers up to date (from a
     * snapshot when the log behind it is purged), then commits the new configuration.
     */
    public CompletableFuture<RaftClientReply> setVoters(String app, List<RaftPeer> voters) {
        return CompletableFuture.supplyAsync(() -> {
            RaftGroup group;
            try {
                group = division(app).getGroup();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            // A configuration change waits for new peers to catch up (a snapshot install): give it time.
            RaftProperties adminProperties = new RaftProperties(properties);
            org.apache.ratis.client.RaftClientConfigKeys.Rpc.setRequestTimeout(adminProperties,
                    TimeDuration.valueOf(60, TimeUnit.SECONDS));
            try (RaftClient admin = RaftClient.newBuilder().setProperties(adminProperties).setParameters(parameters(options))
                    .setRaftGroup(group).setLeaderId(id)
                    .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(3,
                            TimeDuration.valueOf(500, TimeUnit.MILLISECONDS))).build()) {
                return admin.admin().setConfiguration(voters);
            } catch (IOException e) {
                throw new UncheckedIOException("changing the members of '" + app + "' failed: " + e.getMessage(), e);
            }
        });
    }

    public RaftPeerId id() {
        return id;
    }

    /**
     * Drops this member's RPC connections to every other peer of its groups, so the next append, heartbeat or vote
     * opens a new one. Called when Hazelcast sees members come back after a split or a pause: a connection that
     * failed for the whole partition can stay unusable after the heal (seen: a leader that installed no snapshot on
     * the returning member for more than 10 s, where other runs took 1.2 s).
     */
    public void reconnect() {
        java.util.Set<RaftPeerId> others = new java.util.HashSet<>();
        try {
            for (RaftGroupId g : server.getGroupIds()) {
                for (RaftPeer p : server.getDivision(g).getGroup().getPeers()) {
                    if (!p.getId().equals(id)) {
                        others.add(p.getId());
                    }
                }
            }
        } catch (IOException e) {
            return;
        }
        for (RaftPeerId p : others) {
            server.getServerRpc().handleException(p, new IOException("member " + p + " is back; reconnecting"), true);
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            // Best effort at shutdown; the log is durable up to what was acknowledged.
        }
    }
}
