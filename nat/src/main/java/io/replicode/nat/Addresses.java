package io.replicode.nat;

/** Event-bus addresses between gateways, sequencers and replicas: one place, so every hop agrees. */
public final class Addresses {
    private Addresses() {}

    /** Gateway → the app's sequencer: {@link IngressBatch} bodies. */
    public static String ingress(String app) {
        return "replicode.app." + app + ".ingress";
    }

    /** Sequencer → replicas, published once durable: {@code FrameCodec} bodies. */
    public static String frames(String app) {
        return "replicode.app." + app + ".frames";
    }

    /** Replicas → the app's sequencer: timer requests and other control ({@link OutputBatch} bodies). */
    public static String control(String app) {
        return "replicode.app." + app + ".control";
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

    /**
     * Inside one cluster member: its history follower → its replicas, each frame once it is in the member's own
     * replay log (local consumers only; replicas fill gaps from that log).
     */
    public static String memberFrames(String app) {
        return "replicode.member.app." + app + ".frames";
    }

    /** One cluster member's snapshot service for an app (request/reply): offers and chunks of its newest snapshot. */
    public static String snapshots(String memberUuid, String app) {
        return "replicode.member." + memberUuid + ".app." + app + ".snapshots";
    }
}
