package io.replicode.node;

import io.replicode.nat.ConnectionIds;
import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.machine.GuestMachine;
import io.replicode.replica.module.GuestModule;
import io.replicode.replica.wasi.net.StreamSocket;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The canary of an upgrade: the app's recorded traffic since its newest snapshot, run twice from that snapshot, once as
 * it ran (with the module that ran it) and once with the upgrade at its first frame and the grace the upgrade will
 * give (the old guest saves and exits, or is stopped, then the new module starts on its files). What clients see on the
 * connections opened after the switch (bytes sent, closes, resets) is compared frame by frame; connections open at the
 * switch or opened during the grace are not (the switch resets the first, the hung-up listeners refuse the others, by
 * design). The new module is refused if it stops or faults, and the first difference is reported
 * (frame, connection, stream offset, both sides' bytes).
 *
 * <p>Both runs are private machines on the calling thread: the running app is not touched.
 */
public final class Canary {
    /** Frames the canary replays at most (the newest ones after the snapshot are left out beyond it). */
    public static final int DEFAULT_WINDOW_FRAMES = 10_000;
    private static final int READ_BATCH = 256;
    private static final int SHOWN_BYTES = 64;

    private Canary() {}

    /** Where clients would first see a difference. {@code recorded}, {@code canary}: what each side sent there. */
    public record Difference(long frame, long connection, long offset, String recorded, String canary) {
        JsonObject json() {
            return new JsonObject().put("frame", frame).put("connection", ConnectionIds.format(connection))
                    .put("offset", offset).put("recorded", recorded).put("canary", canary);
        }
    }

    /**
     * What the canary found over frames {@code fromSeq..toSeq}: how the switch went, a fault of the new module (or a
     * reason the canary could not run) and the first difference; null when none.
     */
    public record Report(long fromSeq, long toSeq, long frames, String switchReport, String fault, Difference difference) {
        public JsonObject json() {
            return new JsonObject().put("fromFrame", fromSeq).put("toFrame", toSeq).put("frames", frames)
                    .put("switch", switchReport).put("fault", fault)
                    .put("difference", difference == null ? null : difference.json());
        }
    }

    /**
     * Runs the canary of {@code next} for an app whose history began with {@code base} under {@code genesis}.
     *
     * @param modules the app's other modules by hash (the ones it was upgraded to before)
     * @param window  frames to replay at most
     * @param grace   frames of grace the upgrade gives the old guest
     */
    public static Report run(GuestModule base, GuestConfig genesis, Function<String, GuestModule> modules, GuestModule next,
                             ReplayLog log, SnapshotStore snapshots, int window, int grace) {
        Function<String, GuestModule> all = sha -> sha.equals(next.sha256()) ? next : modules.apply(sha);
        try (GuestMachine recorded = GuestMachine.create(base, genesis).withModules(all);
             GuestMachine canary = GuestMachine.create(base, genesis).withModules(all)) {
            var latest = snapshots.latest();
            if (latest.isPresent()) {
                recorded.restore(latest.get().bytes());
                canary.restore(latest.get().bytes());
            } else if (log.firstSeq() > 1) {
                return new Report(1, 0, 0, null, "the app has no snapshot and its log no longer starts at genesis (frame "
                        + log.firstSeq() + "), so its traffic cannot be replayed", null);
            }
            long from = recorded.lastSeq() + 1;
            long to = Math.min(log.lastSeq(), from + window - 1);
            Set<Long> atSwitch = new TreeSet<>();
            for (StreamSocket s : recorded.host().network().connections()) {
                atSwitch.add(s.connection());
            }
            Run run = new Run(recorded, canary, atSwitch, next.sha256(), grace);
            Frame last = null;
            if (from > to) {
                // Nothing recorded since the snapshot: the switch alone, in a frame of no traffic.
                last = new Frame(genesis.app(), 0, from, lastTimeNs(log, from, genesis), new byte[32], List.of());
                run.frame(last);
            }
            for (long seq = from; seq <= to && !run.done(); ) {
                for (Frame f : log.read(seq, (int) Math.min(READ_BATCH, to - seq + 1))) {
                    run.frame(f);
                    last = f;
                    seq = f.seq() + 1;
                    if (run.done()) {
                        break;
                    }
                }
            }
            // An old guest that ignores the hang-up is stopped when its grace is over: frames of no traffic until then.
            for (int extra = 0; last != null && !run.done() && !run.switched() && extra < grace; extra++) {
                last = new Frame(last.app(), last.epoch(), last.seq() + 1, last.timeNs(), new byte[32], List.of());
                run.frame(last);
            }
            return run.report(from, last == null ? to : Math.max(to, last.seq()));
        }
    }

    /** The time of the frame before {@code seq} (the snapshot's), or genesis time. */
    private static long lastTimeNs(ReplayLog log, long seq, GuestConfig genesis) {
        if (seq > 1 && seq - 1 >= log.firstSeq()) {
            List<Frame> before = log.read(seq - 1, 1);
            if (!before.isEmpty()) {
                return before.get(0).timeNs();
            }
        }
        return genesis.genesisTimeNs();
    }

    /** The two machines frame by frame, and what was found so far. */
    private static final class Run {
        private final GuestMachine recorded;
        private final GuestMachine canary;
        private final Set<Long> excluded;
        private final String module;
        private final int grace;
        private long frames;
        private String switchReport;
        private String fault;
        private Difference difference;

        Run(GuestMachine recorded, GuestMachine canary, Set<Long> excluded, String module, int grace) {
            this.grace = grace;
            this.recorded = recorded;
            this.canary = canary;
            this.excluded = excluded;
            this.module = module;
        }

        boolean switched() {
            return switchReport != null;
        }

        boolean done() {
            return fault != null || difference != null;
        }

        void frame(Frame f) {
            Frame forCanary = f;
            if (switchReport == null) {
                // Frames of the grace: their connection events go to the old guest in the canary, which takes no new ones.
                for (IngressEvent e : f.events()) {
                    if (e.connection() >= 0) {
                        excluded.add(e.connection());
                    }
                }
            }
            if (frames == 0) {
                List<IngressEvent> events = new ArrayList<>();
                events.add(new IngressEvent.Upgrade(module, grace));
                events.addAll(f.events());
                forCanary = new Frame(f.app(), f.epoch(), f.seq(), f.timeNs(), f.entropy(), events, f.prevHash());
            } else if (f.events().stream().anyMatch(e -> e instanceof IngressEvent.Upgrade)) {
                // An upgrade recorded later in the window is the recorded run's; the canary stays on the new module.
                forCanary = new Frame(f.app(), f.epoch(), f.seq(), f.timeNs(), f.entropy(),
                        f.events().stream().filter(e -> !(e instanceof IngressEvent.Upgrade)).toList(), f.prevHash());
            }
            List<Output> a = recorded.apply(f);
            List<Output> b = canary.apply(forCanary);
            frames++;
            for (Output o : b) {
                if (o instanceof Output.Upgraded u) {
                    switchReport = u.report();
                } else if (o instanceof Output.Stopped s) {
                    fault = "the new module stopped at frame " + f.seq() + ": " + s.reason();
                } else if (o instanceof Output.Recovered r && switchReport != null) {
                    fault = "the new module faulted at frame " + f.seq() + ": " + r.report();
                }
            }
            if (fault == null) {
                difference = firstDifference(f.seq(), visible(a), visible(b));
            }
        }

        /** What clients of connections opened after the switch see: bytes sent, closes, resets. */
        private List<Output> visible(List<Output> outputs) {
            List<Output> out = new ArrayList<>();
            for (Output o : outputs) {
                long c = o instanceof Output.Send s ? s.connection() : o instanceof Output.Close cl ? cl.connection()
                        : o instanceof Output.Reset r ? r.connection() : -1;
                if (c >= 0 && !excluded.contains(c)) {
                    out.add(o);
                }
            }
            return out;
        }

        Report report(long from, long to) {
            if (fault == null && switchReport == null) {
                fault = "the new module did not start in the canary (no switch was seen)";
            }
            return new Report(from, to, frames, switchReport, fault, difference);
        }
    }

    private static Difference firstDifference(long frame, List<Output> a, List<Output> b) {
        for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
            Output x = i < a.size() ? a.get(i) : null;
            Output y = i < b.size() ? b.get(i) : null;
            if (x == null || !x.equals(y)) {
                Output either = x != null ? x : y;
                long conn = either instanceof Output.Send s ? s.connection() : either instanceof Output.Close c
                        ? c.connection() : ((Output.Reset) either).connection();
                long offset = either instanceof Output.Send s ? s.offset() : either instanceof Output.Close c ? c.offset() : -1;
                int skip = 0;
                if (x instanceof Output.Send sx && y instanceof Output.Send sy && sx.connection() == sy.connection()
                        && sx.offset() == sy.offset()) {
                    // Both send on the same stream: point at the first byte that differs.
                    skip = (int) java.util.Arrays.mismatch(sx.bytes(), sy.bytes());
                }
                return new Difference(frame, conn, offset + skip, describe(x, skip), describe(y, skip));
            }
        }
        return null;
    }

    /** What an output shows a client, from byte {@code skip} of a send on. */
    private static String describe(Output o, int skip) {
        if (o == null) {
            return "(nothing)";
        }
        if (o instanceof Output.Send s) {
            int from = Math.min(skip, s.bytes().length);
            String text = new String(s.bytes(), from, Math.min(SHOWN_BYTES, s.bytes().length - from),
                    StandardCharsets.ISO_8859_1);
            StringBuilder b = new StringBuilder(from > 0 ? "sends ...\"" : "sends \"");
            for (char ch : text.toCharArray()) {
                b.append(ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\' ? String.valueOf(ch)
                        : ch == '\r' ? "\\r" : ch == '\n' ? "\\n" : String.format("\\x%02x", (int) ch));
            }
            return b.append(s.bytes().length - from > SHOWN_BYTES ? "\"..." : "\"").toString();
        }
        return o instanceof Output.Close ? "closes" : "resets";
    }
}
