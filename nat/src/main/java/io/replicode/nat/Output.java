package io.replicode.nat;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a guest produced while applying one frame. Every replica produces the same list for
 * the same frame; the gateway routes them to the external connections.
 */
public sealed interface Output
        permits Output.Send, Output.Close, Output.Reset, Output.Window, Output.TimerRequest,
                Output.Log, Output.Stopped, Output.Recovered, Output.Upgraded, Output.Connect {

    /** Bytes for {@code connection}, starting at stream offset {@code offset} (0 for the first byte). */
    record Send(long connection, long offset, byte[] bytes) implements Output {
        public Send {
            Objects.requireNonNull(bytes, "bytes");
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Send s && s.connection == connection && s.offset == offset
                    && Arrays.equals(s.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return (Long.hashCode(connection) * 31 + Long.hashCode(offset)) * 31 + Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return "Send[connection=" + connection + ", offset=" + offset + ", " + bytes.length + " bytes]";
        }
    }

    /** The guest closed its sending side after {@code offset} bytes (FIN). */
    record Close(long connection, long offset) implements Output {}

    /** The guest reset the connection, or the connection was refused (RST). */
    record Reset(long connection) implements Output {}

    /** The guest consumed {@code bytes} of input: the gateway may deliver that much more. */
    record Window(long connection, int bytes) implements Output {}

    /** The guest waits on a clock: the sequencer should send a frame at {@code atNs} (frame time). */
    record TimerRequest(long atNs) implements Output {}

    /** Bytes the guest wrote to stdout (fd 1) or stderr (fd 2). */
    record Log(int fd, byte[] bytes) implements Output {
        public Log {
            Objects.requireNonNull(bytes, "bytes");
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Log l && l.fd == fd && Arrays.equals(l.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return fd * 31 + Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return "Log[fd=" + fd + ", " + bytes.length + " bytes]";
        }
    }

    /** The app stopped at this frame (trap, exit, exhausted fuel); {@code reason} is the same on every replica. */
    record Stopped(String reason) implements Output {
        public Stopped {
            Objects.requireNonNull(reason, "reason");
        }
    }

    /**
     * The app met a fault at this frame and goes on: the supervisor rolled the poisonous input back and reset
     * the connections that sent it, restarted the module on the same files, or restarted it on request.
     * {@code report} says which, the same on every replica. A gateway that saw the app stop serves it again.
     */
    record Recovered(String report) implements Output {
        public Recovered {
            Objects.requireNonNull(report, "report");
        }
    }

    /**
     * The app runs another module from this frame on ({@link IngressEvent.Upgrade}): {@code moduleSha256} is the module
     * now running, and {@code report} says how the old guest ended (it exited within its grace, or was stopped) and how
     * many connections were reset, the same on every replica.
     */
    record Upgraded(String moduleSha256, String report) implements Output {
        public Upgraded {
            Objects.requireNonNull(moduleSha256, "moduleSha256");
            Objects.requireNonNull(report, "report");
        }
    }

    /**
     * The guest connects out to {@code target} ({@code host:port}, one of the app's upstreams) on the virtual connection
     * {@code connection}, in the frame of sequencer epoch {@code epoch}. The upstream connector beside the sequencer of
     * that epoch opens the real connection once, whatever the number of replicas, and reports the outcome as
     * {@link IngressEvent.Connected}.
     */
    record Connect(long connection, long epoch, String target) implements Output {
        public Connect {
            Objects.requireNonNull(target, "target");
        }
    }
}
