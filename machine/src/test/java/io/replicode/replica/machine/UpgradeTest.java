package io.replicode.replica.machine;

import static io.replicode.replica.machine.Guests.config;
import static io.replicode.replica.machine.Guests.data;
import static io.replicode.replica.machine.Guests.open;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The sequenced switch to another module ({@link IngressEvent.Upgrade}) on the machine: a guest that does not exit in
 * its grace is stopped when the grace is over, a snapshot taken in the grace restores to the same upgrade in progress,
 * a module the replica lacks is refused without touching the app, and a snapshot taken after an upgrade restores with
 * the new module. The kv guest's dump across an upgrade is {@code KvUpgradeTest}.
 */
class UpgradeTest {
    private static final Engine ENGINE = Engine.INTERPRETER;

    private static GuestMachine machine(GuestModule first, GuestConfig config, GuestModule... more) {
        Map<String, GuestModule> byHash = new java.util.HashMap<>();
        for (GuestModule m : more) {
            byHash.put(m.sha256(), m);
        }
        return GuestMachine.create(first, config).withModules(byHash::get);
    }

    private static Output.Upgraded upgraded(List<Output> out) {
        return out.stream().filter(o -> o instanceof Output.Upgraded).map(o -> (Output.Upgraded) o).findFirst().orElse(null);
    }

    @Test
    void a_guest_that_ignores_the_hang_up_is_stopped_after_its_grace_and_a_snapshot_in_the_grace_restores_to_it() {
        GuestModule deaf = Guests.module("deaf", ENGINE);
        GuestModule echo = Guests.module("echo_server", ENGINE);
        GuestConfig config = config("app", "echo");
        try (GuestMachine a = machine(deaf, config, echo)) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            List<Output> first = a.apply(s.next(new IngressEvent.Upgrade(echo.sha256(), 3), open(1, "echo")));
            assertNull(upgraded(first), "the grace has begun: " + first);
            assertTrue(first.contains(new Output.Reset(1)), "a listener that hung up takes no new connection: " + first);
            assertEquals(echo.sha256(), a.upgradingTo());
            assertNull(upgraded(a.apply(s.next())));

            byte[] inGrace = a.snapshot();
            try (GuestMachine b = machine(deaf, config, echo)) {
                b.restore(inGrace);
                assertEquals(echo.sha256(), b.upgradingTo(), "the upgrade in progress is part of the state");
                assertArrayEquals(a.digest(), b.digest());
                Frame last = s.next();
                List<Output> outA = a.apply(last);
                List<Output> outB = b.apply(last);
                assertEquals(outA, outB, "a restored machine ends the grace at the same frame, the same way");
                Output.Upgraded up = upgraded(outA);
                assertTrue(up != null && up.report().contains("the old guest did not exit within its grace of 3 frame(s)"
                        + " and was stopped; 0 connection(s) reset"), outA.toString());
                assertArrayEquals(a.digest(), b.digest());
            }
            assertEquals(echo.sha256(), a.module().sha256());
            assertNull(a.upgradingTo());
            List<Output> served = a.apply(s.next(open(2, "echo"), data(2, "after\n")));
            assertEquals("after\n", Guests.sent(served, 2), "the new module serves: " + served);
        }
    }

    @Test
    void a_snapshot_taken_after_an_upgrade_restores_with_the_new_module_and_without_it_is_refused() {
        GuestModule deaf = Guests.module("deaf", ENGINE);
        GuestModule echo = Guests.module("echo_server", ENGINE);
        GuestConfig config = config("app", "echo");
        byte[] after;
        byte[] digest;
        try (GuestMachine a = machine(echo, config, deaf)) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            List<Output> out = a.apply(s.next(open(1, "echo"), new IngressEvent.Upgrade(deaf.sha256(), 2)));
            Output.Upgraded up = upgraded(out);
            assertTrue(up != null && up.report().contains("exited within its grace"), out.toString());
            assertEquals(deaf.sha256(), up.moduleSha256());
            assertTrue(logs(out).contains("deaf: sleeping"), "the new module ran in the switch frame: " + logs(out));
            after = a.snapshot();
            digest = a.digest();
        }
        try (GuestMachine b = machine(echo, config, deaf)) {
            b.restore(after);
            assertEquals(deaf.sha256(), b.module().sha256());
            assertArrayEquals(digest, b.digest());
        }
        try (GuestMachine lacking = GuestMachine.create(echo, config)) {
            SnapshotException e = assertThrows(SnapshotException.class, () -> lacking.restore(after));
            assertTrue(e.getMessage().contains("snapshot was taken with module " + deaf.sha256().substring(0, 12)), e.getMessage());
        }
    }

    @Test
    void an_app_upgraded_from_a_module_that_cannot_snapshot_restores_the_new_modules_snapshots() {
        GuestModule plain = Guests.module("echo_server.plain", ENGINE);
        GuestModule echo = Guests.module("echo_server", ENGINE);
        GuestConfig config = config("app", "echo");
        byte[] after;
        byte[] digest;
        try (GuestMachine a = machine(plain, config, echo)) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            assertTrue(upgraded(a.apply(s.next(new IngressEvent.Upgrade(echo.sha256(), 2)))) != null);
            a.apply(s.next(open(1, "echo"), data(1, "kept\n")));
            after = a.snapshot();
            digest = a.digest();
        }
        try (GuestMachine b = machine(plain, config, echo)) {
            b.restore(after);
            assertEquals(echo.sha256(), b.module().sha256());
            assertArrayEquals(digest, b.digest());
        }
        try (GuestMachine lacking = machine(plain, config)) {
            // Without the snapshot's module, the fresh machine's own cannot restore anything: said as before.
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> lacking.restore(after));
            assertTrue(e.getMessage().contains("cannot restore"), e.getMessage());
        }
    }

    @Test
    void an_upgrade_to_a_module_the_replica_lacks_is_refused_in_the_log_and_the_app_goes_on() {
        GuestModule echo = Guests.module("echo_server", ENGINE);
        try (GuestMachine a = machine(echo, config("app", "echo"))) {
            Guests.Script s = new Guests.Script();
            a.apply(s.next());
            String missing = "0".repeat(64);
            List<Output> out = a.apply(s.next(new IngressEvent.Upgrade(missing, 2), open(1, "echo"), data(1, "still\n")));
            assertTrue(logs(out).contains("upgrade of app 'app' to module 000000000000 at frame 2 refused: this replica"
                    + " does not have the module"), logs(out));
            assertEquals("still\n", Guests.sent(out, 1), "the app serves on: " + out);
            assertNull(a.upgradingTo());
            assertEquals(echo.sha256(), a.module().sha256());
        }
    }

    private static String logs(List<Output> outputs) {
        StringBuilder b = new StringBuilder();
        for (Output o : outputs) {
            if (o instanceof Output.Log l) {
                b.append(new String(l.bytes(), StandardCharsets.UTF_8));
            }
        }
        return b.toString();
    }
}
