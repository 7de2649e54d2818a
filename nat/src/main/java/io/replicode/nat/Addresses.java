package io.replicode.nat;

/** Event-bus addresses between gateways, sequencers and replicas: one place, so every hop agrees. */
public final class Addresses {
    private Addresses() {}

    /** Gateway → the app's sequencer: {@link IngressBatch} bodies. */
    public static String ingress(String app) {
        return "replicode.app." + app + ".ingress";
    }

    /**
     * Gateway → the sequencer of the app on one cluster member ({@code member}: its Raft peer id), the group's leader.
     * A cluster never sends to an address that moves between members: Vert.x caches per node where an address was
     * registered and, after a partition heals, a node may keep routing a moved address to where it used to be (seen:
     * a member cut off 20 s sent its batches to its own, long gone, sequencer consumer and never served again). An
     * address only one member ever registers can only be routed there.
     */
    public static String ingress(String app, String member) {
        return ingress(app) + "." + member;
    }

    /** Replicas → the sequencer of the app on one cluster member, as {@link #ingress(String, String)}. */
    public static String control(String app, String member) {
        return control(app) + "." + member;
    }

    /**
     * Any cluster member that runs the app's Raft group answers here (request/reply, JSON {@code leader}) which
     * member leads it, for members that do not run the group themselves.
     */
    public static String leader(String app) {
        return "replicode.app." + app + ".leader";
    }

    /** Sequencer → replicas, published once durable: {@code FrameCodec} bodies. */
    public static String frames(String app) {
        return "replicode.app." + app + ".frames";
    }

    /** Replicas → the app's sequencer: timer requests and other control ({@link OutputBatch} bodies). */
    public static String control(String app) {
        return "replicode.app." + app + ".control";
    }

    /**
     * Replicas → the upstream connector beside the app's sequencer: the outputs for the connections guests opened to
     * their upstreams ({@link OutputBatch} bodies).
     */
    public static String upstreams(String app) {
        return "replicode.app." + app + ".upstreams";
    }

    /** Replicas → one gateway: the outputs for its connections ({@link OutputBatch} bodies). */
    public static String outputs(int gateway) {
        return "replicode.gateway." + gateway + ".outputs";
    }

    /** Public request/reply ingress for services on the event bus: a Buffer in, every byte the guest writes out. */
    public static String request(String app) {
        return "replicode.app." + app + ".request";
    }

    /** Replicas → divergence monitor: each frame's digests ({@code DigestLog} record payloads, prefixed by the replica id). */
    public static String digests(String app) {
        return "replicode.app." + app + ".digests";
    }

    /** Divergence monitor → gateways: replicas whose outputs must no longer be released (JSON). */
    public static String diverged(String app) {
        return "replicode.app." + app + ".diverged";
    }

    /** Replicas answer status queries here (request/reply, JSON). */
    public static String replicaStatus(String app) {
        return "replicode.app." + app + ".replica-status";
    }

    /** Sequencer → one gateway: the ingress batches of an app that are durable in a frame ({@link IngressAck} bodies). */
    public static String acks(int gateway) {
        return "replicode.gateway." + gateway + ".acks";
    }

    /**
     * A clustered sequencer announces here (published, JSON) when it starts sequencing an app or stops: gateways
     * resend the batches not yet acknowledged, replicas repeat the timers their guest waits for.
     */
    public static String sequencer(String app) {
        return "replicode.app." + app + ".sequencer";
    }

    /** One cluster member's snapshot service for an app (request/reply): offers and chunks of its newest snapshot. */
    public static String snapshots(String memberUuid, String app) {
        return "replicode.member." + memberUuid + ".app." + app + ".snapshots";
    }
}
