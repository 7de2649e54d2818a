package io.replicode.replica.verticle;

import io.replicode.nat.Frame;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The durable frames of one app, handed straight to the replicas in this process, in seq order, on the thread that
 * made them durable (the single node's sequencer loop, a cluster member's Raft apply thread).
 *
 * <p>Why not the event bus: a local publish delivers each frame to each replica's event loop, which then hands it to the
 * replica's guest thread, so every frame woke every replica twice. On 2 CPUs those wake-ups (thread switches, selector
 * wake-ups) were a quarter of the node's CPU under {@code redis-benchmark -c 50} (perf: the scheduler's
 * {@code finish_task_switch} and the event loops' {@code epoll_wait} and {@code EventFD} wake-ups), and each hop added
 * its own wait for a core. Here a frame goes from the producer to each guest thread's queue, decoded once. The frames are
 * still published on the event bus for other services ({@code Addresses.frames}).
 *
 * <p>A replica joins when it starts ({@link ReplicaVerticle#start}, after recovering) and leaves when it stops; frames
 * delivered before it joined are in the log, and the replica reads them from there (see {@link ReplicaVerticle#offer}).
 */
public final class LocalFrames {
    private final CopyOnWriteArrayList<ReplicaVerticle> replicas = new CopyOnWriteArrayList<>();

    /** Hands {@code frame}, which is durable, to every replica that is running; callers deliver in seq order. */
    public void deliver(Frame frame) {
        for (ReplicaVerticle r : replicas) {
            r.offer(frame);
        }
    }

    /** Replicas fed now. */
    public int size() {
        return replicas.size();
    }

    void join(ReplicaVerticle replica) {
        replicas.addIfAbsent(replica);
    }

    void leave(ReplicaVerticle replica) {
        replicas.remove(replica);
    }
}
