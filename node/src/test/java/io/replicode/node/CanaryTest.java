package io.replicode.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.machine.GuestMachine;
import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The canary of an upgrade, on a recorded log and snapshot of its own. */
class CanaryTest {
    private static final long T0 = 1_700_000_000_000_000_000L;

    @TempDir
    Path tmp;

    private static GuestModule module(String name) {
        return GuestModule.load(TestGuests.module(name), Engine.INTERPRETER);
    }

    @Test
    void an_old_guest_that_ignores_the_hang_up_is_stopped_after_the_grace_even_with_no_traffic_recorded_since() {
        GuestModule deaf = module("deaf");
        GuestModule echo = module("echo_server");
        GuestConfig genesis = GuestConfig.of("app", List.of("echo")).withGenesis(new byte[] {1}, T0);
        SnapshotStore snapshots = new SnapshotStore(tmp.resolve("snapshots"), 2);
        try (ReplayLog log = ReplayLog.open(tmp.resolve("log"), "app", ReplayLog.Options.DEFAULT);
             GuestMachine running = GuestMachine.create(deaf, genesis)) {
            Frame f1 = new Frame("app", 0, 1, T0 + 1_000_000, new byte[32], List.of());
            log.append(f1).join();
            running.apply(f1);
            snapshots.save(1, running.snapshot());

            Canary.Report r = Canary.run(deaf, genesis, sha -> null, echo, log, snapshots, 100, 3);
            assertNull(r.fault(), r.json().encode());
            assertNotNull(r.switchReport(), r.json().encode());
            assertTrue(r.switchReport().contains("the old guest did not exit within its grace of 3 frame(s)"), r.switchReport());
            assertEquals(3, r.frames(), "three frames of no traffic: the grace");
        }
    }

    @Test
    void a_module_that_answers_otherwise_is_reported_at_the_first_differing_byte() {
        GuestModule echo = module("echo_server");
        GuestModule kv = module("kv_server");
        GuestConfig genesis = GuestConfig.of("app", List.of("echo")).withGenesis(new byte[] {1}, T0);
        SnapshotStore snapshots = new SnapshotStore(tmp.resolve("snapshots"), 2);
        try (ReplayLog log = ReplayLog.open(tmp.resolve("log"), "app", ReplayLog.Options.DEFAULT)) {
            Frame f1 = new Frame("app", 0, 1, T0 + 1_000_000, new byte[32], List.of());
            log.append(f1).join();
            byte[] chain = io.replicode.nat.FrameCodec.hash(io.replicode.nat.FrameCodec.encode(f1));
            log.append(new Frame("app", 0, 2, T0 + 2_000_000, new byte[32], List.of(new IngressEvent.Open(7, "echo"),
                    new IngressEvent.Data(7, "PING\r\n".getBytes(StandardCharsets.US_ASCII))), chain)).join();
            Canary.Report r = Canary.run(echo, genesis, sha -> null, kv, log, snapshots, 100, 5);
            assertNull(r.fault(), r.json().encode());
            Canary.Difference d = r.difference();
            assertNotNull(d, r.json().encode());
            assertEquals(2, d.frame());
            assertEquals(7, d.connection());
            assertEquals(0, d.offset());
            assertEquals("sends \"PING\\r\\n\"", d.recorded());
            assertEquals("closes", d.canary(), "kv closes a connection on a listener name it does not serve");
        }
    }
}
