package io.replicode.sequencer;

import io.replicode.nat.IngressEvent;

/**
 * Something that runs beside an app's sequencer for as long as it sequences, and puts events of its own into the
 * frames: the upstream connector, which opens the connections guests make to other services. It is started when the
 * sequencer starts cutting frames (at a node's start; in a cluster when this member becomes the Raft leader) and
 * stopped when it stops, so exactly one runs per app and epoch.
 */
public interface Companion {
    /** Events go into the next frames, in the order offered, on the sequencer's context. */
    interface Sink {
        void offer(IngressEvent event);
    }

    /**
     * The sequencer cuts frames of epoch {@code epoch} from frame {@code firstSeq} on: outputs of earlier frames (a
     * replica catching up) are not this companion's to act on.
     */
    void start(long epoch, long firstSeq, Sink sink);

    /** Sequencing stopped here: let go of everything held for it. */
    void stop();

    /** What an operator sees of it in the sequencer's status, or null for nothing. */
    default io.vertx.core.json.JsonObject status() {
        return null;
    }

    /** A companion that does nothing (an app with no upstreams). */
    Companion NONE = new Companion() {
        @Override
        public void start(long epoch, long firstSeq, Sink sink) {}

        @Override
        public void stop() {}
    };
}
