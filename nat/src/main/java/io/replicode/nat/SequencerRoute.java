package io.replicode.nat;

import java.util.function.Function;

/**
 * Where gateways and replicas send what is meant for an app's sequencer. On a single node that is the app's one
 * sequencer at a fixed address; in a cluster it is the sequencer of the member that leads the app's Raft group now,
 * at that member's own address ({@link Addresses#ingress(String, String)} explains why).
 */
public interface SequencerRoute {
    /** The address for {@code app}'s ingress batches now, or null while no sequencer is known (keep them, send later). */
    String ingress(String app);

    /** The address for {@code app}'s control messages (timer requests) now, or null while no sequencer is known. */
    String control(String app);

    /** A single node: the fixed addresses. */
    SequencerRoute SINGLE_NODE = new SequencerRoute() {
        @Override
        public String ingress(String app) {
            return Addresses.ingress(app);
        }

        @Override
        public String control(String app) {
            return Addresses.control(app);
        }
    };

    /** A cluster: the addresses of the member {@code leaderOf} names for the app (null: none known). */
    static SequencerRoute toLeader(Function<String, String> leaderOf) {
        return new SequencerRoute() {
            @Override
            public String ingress(String app) {
                String leader = leaderOf.apply(app);
                return leader == null ? null : Addresses.ingress(app, leader);
            }

            @Override
            public String control(String app) {
                String leader = leaderOf.apply(app);
                return leader == null ? null : Addresses.control(app, leader);
            }
        };
    }
}
