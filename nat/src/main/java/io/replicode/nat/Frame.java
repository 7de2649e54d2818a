package io.replicode.nat;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * One step of an app's ordered input: every replica applies frames in {@code seq} order.
 *
 * @param app      the app this frame belongs to
 * @param epoch    the sequencer epoch that stamped it
 * @param seq      position in the app's stream, starting at 1, without gaps
 * @param timeNs   frame time in nanoseconds since the Unix epoch; never decreases
 * @param entropy  randomness drawn by the sequencer, mixed into the guest's random stream
 * @param events   ingress events, applied in list order
 * @param prevHash SHA-256 of the previous frame's encoding (32 zero bytes before frame 1): the hash
 *                 chain that exposes a log that was cut, reordered or edited
 */
public record Frame(String app, long epoch, long seq, long timeNs, byte[] entropy, List<IngressEvent> events,
                    byte[] prevHash) {

    /** The predecessor hash of frame 1. */
    public static final byte[] GENESIS_HASH = new byte[32];

    public Frame {
        Objects.requireNonNull(app, "app");
        Objects.requireNonNull(entropy, "entropy");
        Objects.requireNonNull(prevHash, "prevHash");
        events = List.copyOf(events);
        if (seq < 1) {
            throw new IllegalArgumentException("frame seq starts at 1, got " + seq);
        }
        if (prevHash.length != 32) {
            throw new IllegalArgumentException("prevHash must be 32 bytes, got " + prevHash.length);
        }
    }

    /** A frame outside a hash chain (tests, a machine fed directly): its predecessor hash is all zeros. */
    public Frame(String app, long epoch, long seq, long timeNs, byte[] entropy, List<IngressEvent> events) {
        this(app, epoch, seq, timeNs, entropy, events, GENESIS_HASH);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Frame f && f.app.equals(app) && f.epoch == epoch && f.seq == seq
                && f.timeNs == timeNs && Arrays.equals(f.entropy, entropy) && f.events.equals(events)
                && Arrays.equals(f.prevHash, prevHash);
    }

    @Override
    public int hashCode() {
        return Objects.hash(app, epoch, seq, timeNs, Arrays.hashCode(entropy), events, Arrays.hashCode(prevHash));
    }

    @Override
    public String toString() {
        return "Frame[" + app + " seq=" + seq + " epoch=" + epoch + " timeNs=" + timeNs + " events=" + events.size()
                + " prev=" + HexFormat.of().formatHex(prevHash, 0, 4) + "]";
    }
}
