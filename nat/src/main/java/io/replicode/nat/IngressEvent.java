package io.replicode.nat;

import java.util.Arrays;
import java.util.Objects;

/**
 * Something that happened to a virtual connection outside the guest, carried to every
 * replica inside a frame. Events are the only way bytes and state changes reach a guest.
 */
public sealed interface IngressEvent
        permits IngressEvent.Open, IngressEvent.Data, IngressEvent.HalfClose, IngressEvent.Reset,
                IngressEvent.Window, IngressEvent.GatewayLost, IngressEvent.SnapshotRequest, IngressEvent.Batch,
                IngressEvent.Restart, IngressEvent.Upgrade, IngressEvent.Connected {

    /** The virtual connection this event is about (-1 for events about no single connection). */
    long connection();

    /** A client connected to the guest listener named {@code listener}. */
    record Open(long connection, String listener) implements IngressEvent {
        public Open {
            Objects.requireNonNull(listener, "listener");
        }
    }

    /** Bytes the client sent, in stream order. */
    record Data(long connection, byte[] bytes) implements IngressEvent {
        public Data {
            Objects.requireNonNull(bytes, "bytes");
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Data d && d.connection == connection && Arrays.equals(d.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(connection) * 31 + Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return "Data[connection=" + connection + ", " + bytes.length + " bytes]";
        }
    }

    /** The client closed its sending side: after buffered bytes, reads return end of stream. */
    record HalfClose(long connection) implements IngressEvent {}

    /** The connection was reset (client abort or gateway loss): reads and writes fail. */
    record Reset(long connection) implements IngressEvent {}

    /** The gateway delivered {@code bytes} more of the guest's output: the guest may send that much more. */
    record Window(long connection, int bytes) implements IngressEvent {
        public Window {
            if (bytes < 0) {
                throw new IllegalArgumentException("window credit must not be negative: " + bytes);
            }
        }
    }

    /**
     * A gateway is gone (it left the cluster, or the node restarted): every connection it owned is reset.
     * {@code gateway} -1 means every gateway, as after a whole-node restart.
     */
    record GatewayLost(int gateway) implements IngressEvent {
        public static final int ALL = -1;

        @Override
        public long connection() {
            return -1;
        }
    }

    /**
     * The sequencer asks every replica to snapshot right after this frame: because the request is part of
     * the frame, all replicas cut at the same seq. The guest does not see it.
     */
    record SnapshotRequest() implements IngressEvent {
        @Override
        public long connection() {
            return -1;
        }
    }

    /**
     * Marks that the events after it in the frame history, up to the next Batch mark, came in ingress batch
     * {@code batchSeq} of {@code gateway}; a batch may continue over several frames. Replicas apply a batch of a
     * gateway only once: a copy resent after a sequencer failover is dropped. {@code gateway} 0 marks events the
     * sequencer made itself (GatewayLost and the like), which are never dropped. The guest does not see it.
     */
    record Batch(int gateway, long batchSeq) implements IngressEvent {
        /** The gateway id of events the sequencer made itself. */
        public static final int SEQUENCER = 0;

        public Batch {
            if (gateway < 0 || gateway > ConnectionIds.MAX_GATEWAY) {
                throw new IllegalArgumentException("batch gateway " + gateway + " outside 0.." + ConnectionIds.MAX_GATEWAY);
            }
            if (batchSeq < 0) {
                throw new IllegalArgumentException("batchSeq must not be negative: " + batchSeq);
            }
        }

        @Override
        public long connection() {
            return -1;
        }
    }

    /**
     * An operator asked to restart the app (for example {@code ./replicode restart --app APP}): the guest module
     * starts afresh at this frame on the same files, its connections are reset, and a stopped app runs again.
     * It travels in a gateway's ingress batch, so every replica restarts at the same frame. The guest does not
     * see it.
     */
    record Restart() implements IngressEvent {
        @Override
        public long connection() {
            return -1;
        }
    }

    /**
     * An operator upgraded the app to another module ({@code ./replicode upgrade}), identified by the SHA-256 (hex) of
     * its bytes, which every replica has before this frame is cut. At this frame the running guest is told to stop: its
     * listeners hang up, and it has {@code graceFrames} frames (this one included) to save what it needs under
     * {@code /data} and exit; then the new module starts on the same files and every connection left is reset. The
     * guest does not see the event itself.
     */
    record Upgrade(String moduleSha256, int graceFrames) implements IngressEvent {
        /** Most frames of grace an upgrade may give. */
        public static final int MAX_GRACE_FRAMES = 10_000;

        public Upgrade {
            Objects.requireNonNull(moduleSha256, "moduleSha256");
            if (!moduleSha256.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("module hash must be 64 lowercase hex digits (SHA-256), got '"
                        + moduleSha256 + "'");
            }
            if (graceFrames < 1 || graceFrames > MAX_GRACE_FRAMES) {
                throw new IllegalArgumentException("grace must be 1.." + MAX_GRACE_FRAMES + " frames, got " + graceFrames);
            }
        }

        @Override
        public long connection() {
            return -1;
        }
    }

    /**
     * The outcome of a guest's connection to an upstream ({@link Output.Connect}): {@code errno} 0 when it connected,
     * else the WASI errno the guest's connect gives (CONNREFUSED, TIMEDOUT, HOSTUNREACH, ...); {@code address} is what
     * the host resolved the name to and connected to ({@code ip:port}), recorded so a replay does not resolve again.
     */
    record Connected(long connection, int errno, String address) implements IngressEvent {
        public Connected {
            Objects.requireNonNull(address, "address");
            if (errno < 0 || errno > 0xFFFF) {
                throw new IllegalArgumentException("errno " + errno + " outside 0..65535");
            }
        }
    }
}
