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
}
