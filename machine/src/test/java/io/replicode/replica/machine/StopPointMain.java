package io.replicode.replica.machine;

import static io.replicode.replica.machine.Guests.config;
import static io.replicode.replica.machine.Guests.data;
import static io.replicode.replica.machine.Guests.machine;
import static io.replicode.replica.machine.Guests.open;

import io.replicode.replica.GuestLimits;
import io.replicode.replica.module.Engine;
import java.util.HexFormat;

/**
 * Runs the endless-loop and unbounded-recursion guests into their fault and prints where it happened:
 * the fault and the full-state digest after the supervisor recovered. {@link StopPointTest} runs it in JVMs with different {@code -Xss}.
 */
public final class StopPointMain {
    private StopPointMain() {}

    static String stopPoints(Engine engine) {
        StringBuilder out = new StringBuilder();
        var loopCfg = config("loop", "loop").withLimits(GuestLimits.DEFAULT.withFuelPerFrame(3_000_000));
        try (GuestMachine m = machine("endless_loop", engine, loopCfg)) {
            Guests.Script s = new Guests.Script();
            m.apply(s.next());
            m.apply(s.next(open(1, "loop"), data(1, "spin\n")));
            out.append("loop ").append(m.status().lastFault()).append(' ').append(HexFormat.of().formatHex(m.digest())).append('\n');
        }
        var recCfg = config("rec", "rec").withLimits(GuestLimits.DEFAULT.withCallDepth(50_000));
        try (GuestMachine m = machine("recursion", engine, recCfg)) {
            Guests.Script s = new Guests.Script();
            m.apply(s.next());
            m.apply(s.next(open(1, "rec"), data(1, "forever\n")));
            out.append("recursion ").append(m.status().lastFault()).append(' ').append(HexFormat.of().formatHex(m.digest())).append('\n');
        }
        return out.toString();
    }

    public static void main(String[] args) {
        System.out.print(stopPoints(Engine.valueOf(args[0])));
    }
}
