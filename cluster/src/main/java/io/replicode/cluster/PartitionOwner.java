package io.replicode.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceNotActiveException;
import com.hazelcast.partition.MigrationListener;
import com.hazelcast.partition.MigrationState;
import com.hazelcast.partition.Partition;
import com.hazelcast.partition.ReplicaMigrationEvent;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Whether this member owns the partition of an app's frame ring, and a signal when that changes: the app's
 * sequencer runs where its ring is owned, so its appends are local, and moves when ownership moves.
 *
 * <p>The answer comes from this member's partition table (no remote call). It is rechecked on every migration and
 * membership event and every {@code recheckMs}, because a backup's promotion after a member is lost may settle after
 * the membership event, and {@link MigrationListener#migrationFinished} may never come when the coordinator dies.
 * Listeners are called one at a time on this object's own thread, with the new answer; they move to their own
 * context.
 */
public final class PartitionOwner implements AutoCloseable {
    public static final long DEFAULT_RECHECK_MS = 100;

    private final HazelcastInstance hazelcast;
    private final String objectName;
    private final Partition partition;
    private final ScheduledExecutorService checker;
    private final List<Consumer<Boolean>> listeners = new CopyOnWriteArrayList<>();
    private final UUID migrationRegistration;
    private final UUID membershipRegistration;
    /** Only the checker thread writes it. */
    private volatile boolean local;
    private volatile long changes;

    /** Ownership of the partition of the Hazelcast object named {@code objectName}, rechecked every {@code recheckMs}. */
    public PartitionOwner(HazelcastInstance hazelcast, String objectName, long recheckMs) {
        if (recheckMs < 1) {
            throw new IllegalArgumentException("recheck interval must be at least 1 ms, got " + recheckMs);
        }
        this.hazelcast = hazelcast;
        this.objectName = objectName;
        // A ringbuffer lives in the partition of its name (no '@' partition key in our names).
        this.partition = hazelcast.getPartitionService().getPartition(objectName);
        this.checker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "replicode-partition-owner-" + objectName);
            t.setDaemon(true);
            return t;
        });
        this.local = computeLocal();
        this.migrationRegistration = hazelcast.getPartitionService().addMigrationListener(new MigrationListener() {
            @Override
            public void migrationStarted(MigrationState state) {
                recheckSoon();
            }

            @Override
            public void migrationFinished(MigrationState state) {
                recheckSoon();
            }

            @Override
            public void replicaMigrationCompleted(ReplicaMigrationEvent event) {
                if (event.getPartitionId() == partition.getPartitionId()) {
                    recheckSoon();
                }
            }

            @Override
            public void replicaMigrationFailed(ReplicaMigrationEvent event) {
                if (event.getPartitionId() == partition.getPartitionId()) {
                    recheckSoon();
                }
            }
        });
        this.membershipRegistration = hazelcast.getCluster().addMembershipListener(new MembershipListener() {
            @Override
            public void memberAdded(MembershipEvent event) {
                recheckSoon();
            }

            @Override
            public void memberRemoved(MembershipEvent event) {
                recheckSoon();
            }
        });
        checker.scheduleWithFixedDelay(this::recheck, recheckMs, recheckMs, TimeUnit.MILLISECONDS);
    }

    /** Ownership of {@code app}'s frame ring. */
    public static PartitionOwner ofApp(HazelcastInstance hazelcast, String app) {
        return new PartitionOwner(hazelcast, RingbufferFrameLog.ringName(app), DEFAULT_RECHECK_MS);
    }

    public int partitionId() {
        return partition.getPartitionId();
    }

    /** Whether this member owns the partition, as of the last check. */
    public boolean isLocal() {
        return local;
    }

    /** The owner in this member's partition table; empty while none is assigned (during a promotion). */
    public Optional<Member> owner() {
        try {
            return Optional.ofNullable(partition.getOwner());
        } catch (HazelcastInstanceNotActiveException e) {
            return Optional.empty();
        }
    }

    /**
     * Whether every partition this member owns has all its backups in sync. Right after a member joins or leaves,
     * migrations take a moment during which a partition may have fewer backups than configured, and a frame
     * acknowledged then lives on fewer members; a sequencer starts appending only once this holds.
     */
    public boolean backupsInSync() {
        try {
            return hazelcast.getPartitionService().isLocalMemberSafe();
        } catch (HazelcastInstanceNotActiveException e) {
            return false;
        }
    }

    /** How many times the answer changed since this object was made. */
    public long changes() {
        return changes;
    }

    /** Calls {@code listener} with the current answer now, then with every change (on this object's thread). */
    public void onChange(Consumer<Boolean> listener) {
        try {
            checker.execute(() -> {
                listeners.add(listener);
                listener.accept(local);
            });
        } catch (RejectedExecutionException e) {
            throw new IllegalStateException("partition owner of " + objectName + " is closed", e);
        }
    }

    private void recheckSoon() {
        try {
            checker.execute(this::recheck);
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    private void recheck() {
        boolean now = computeLocal();
        if (now == local) {
            return;
        }
        local = now;
        changes++;
        for (Consumer<Boolean> l : listeners) {
            try {
                l.accept(now);
            } catch (RuntimeException e) {
                System.err.println("replicode: partition owner listener of " + objectName + " failed: " + e);
            }
        }
    }

    private boolean computeLocal() {
        if (!hazelcast.getLifecycleService().isRunning()) {
            return false;
        }
        return owner().map(Member::localMember).orElse(false);
    }

    @Override
    public void close() {
        checker.shutdownNow();
        if (hazelcast.getLifecycleService().isRunning()) {
            hazelcast.getPartitionService().removeMigrationListener(migrationRegistration);
            hazelcast.getCluster().removeMembershipListener(membershipRegistration);
        }
    }
}
