package io.replicode.replay;

import io.replicode.nat.IngressEvent;
import java.util.Arrays;
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
 */
public record Frame(String app, long epoch, long seq, long timeNs, byte[] entropy, List<IngressEvent> events) {

    public Frame {
        Objects.requireNonNull(app, "app");
        Objects.requireNonNull(entropy, "entropy");
        events = List.copyOf(events);
        if (seq < 1) {
            throw new IllegalArgumentException("frame seq starts at 1, got " + seq);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Frame f && f.app.equals(app) && f.epoch == epoch && f.seq == seq
                && f.timeNs == timeNs && Arrays.equals(f.entropy, entropy) && f.events.equals(events);
    }

    @Override
    public int hashCode() {
        return Objects.hash(app, epoch, seq, timeNs, Arrays.hashCode(entropy), events);
    }

    @Override
    public String toString() {
        return "Frame[" + app + " seq=" + seq + " epoch=" + epoch + " timeNs=" + timeNs + " events=" + events.size() + "]";
    }
}
