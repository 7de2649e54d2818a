package io.replicode.replica.guests;

import static io.replicode.replica.guests.KvGuest.bulk;
import static io.replicode.replica.guests.KvGuest.integer;
import static io.replicode.replica.guests.KvGuest.resp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.module.Engine;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The kv guest across an upgrade, on the machine: at the upgrade frame its listeners hang up, it writes its store to
 * {@code /data/kv.dump} and exits 0 (after answering what came in the same frame); the new module (here the same one, which takes the same path) starts on the same
 * files, loads the dump and serves every key with its expiry time.
 */
class KvUpgradeTest {
    @Test
    void every_key_and_expiry_time_survives_an_upgrade_and_the_dump_is_consumed() {
        try (KvGuest g = KvGuest.start(Engine.INTERPRETER)) {
            KvGuest.Conn c = g.open("resp");
            StringBuilder writes = new StringBuilder();
            for (int i = 0; i < 500; i++) {
                writes.append(resp("SET", "key:" + i, "value-" + i));
            }
            assertEquals("+OK\r\n".repeat(500), c.call(writes.toString()));
            assertEquals("+OK\r\n", c.call(resp("SET", "binary", "a\r\nb\0c")));
            assertEquals(":3\r\n", c.call(resp("HSET", "hash", "z", "1", "a", "b\0c", "m", "")));
            String wide = "w".repeat(100_000);
            assertEquals(":1\r\n", c.call(resp("HSET", "wide", "f", wide)), "a hash value wider than the loader's first buffer");
            assertEquals(":3\r\n", c.call(resp("RPUSH", "list", "a", "b".repeat(70_000), "c")));
            assertEquals("+OK\r\n", c.call(resp("SET", "soon", "gone", "PX", "60000")));
            assertEquals("+OK\r\n", c.call(resp("SET", "expired", "x", "PX", "10")));
            g.advanceMs(20);

            String sha = g.machine.module().sha256();
            // A request in the upgrade's frame is answered before the old guest stops.
            c.send(resp("GET", "key:1"));
            g.queue(new IngressEvent.Upgrade(sha, 5));
            List<Output> out = g.step();
            assertEquals(bulk("value-1"), c.take(), "the request that came with the hang-up is answered");
            Output.Upgraded up = out.stream().filter(o -> o instanceof Output.Upgraded).map(o -> (Output.Upgraded) o)
                    .findFirst().orElseThrow(() -> new AssertionError("no upgrade at the frame: " + out));
            assertEquals(sha, up.moduleSha256());
            assertTrue(up.report().contains("the old guest exited within its grace (exit: status 0 (frame "), up.report());
            assertTrue(up.report().endsWith("frame 1 of 5); 1 connection(s) reset"), up.report());
            assertTrue(c.reset, "the old guest's connection is reset at the switch");
            String logs = logs(out);
            assertTrue(logs.contains("kv: listener fd 3 hung up; stopping"), logs);
            assertTrue(logs.contains("kv: saved 505 keys to /data/kv.dump"), logs);
            assertTrue(logs.contains("kv: loaded 505 keys from /data/kv.dump"), logs);
            // The loader's buffer grows to the widest value read; one of the largest value allowed (64 MiB) stayed in
            // the guest's memory for good (23 pages before an upgrade, 1,047 after).
            assertTrue(g.machine.memoryPages() < 200, "memory after the upgrade: " + g.machine.memoryPages() + " pages");
            assertNull(g.machine.upgradingTo());

            KvGuest.Conn d = g.open("resp");
            assertEquals("*6\r\n" + bulk("z") + bulk("1") + bulk("a") + bulk("b\0c") + bulk("m") + bulk(""),
                    d.call(resp("HGETALL", "hash")), "a hash comes back with its fields in order");
            assertEquals(bulk(wide), d.call(resp("HGET", "wide", "f")));
            assertEquals("*3\r\n" + bulk("a") + bulk("b".repeat(70_000)) + bulk("c"), d.call(resp("LRANGE", "list", "0", "-1")));
            assertEquals(bulk("value-7") + bulk("value-499") + bulk("a\r\nb\0c") + KvGuest.NIL + integer(505),
                    d.call(resp("GET", "key:7") + resp("GET", "key:499") + resp("GET", "binary") + resp("GET", "expired")
                            + resp("DBSIZE")));
            String pttl = d.call(resp("PTTL", "soon"));
            long left = Long.parseLong(pttl.substring(1).trim());
            assertTrue(left > 59_000 && left <= 59_980, "the expiry time is the same absolute time: " + pttl);
            g.advanceMs(61_000);
            assertEquals(KvGuest.NIL, d.call(resp("GET", "soon")));
            assertEquals(":0\r\n", d.call(resp("EXISTS", "soon")));

            // The dump was consumed: a second upgrade saves the keys again, not stale ones.
            assertEquals(":1\r\n", d.call(resp("DEL", "key:7")));
            g.queue(new IngressEvent.Upgrade(sha, 5));
            String second = logs(g.step());
            assertTrue(second.contains("kv: saved 503 keys") && second.contains("kv: loaded 503 keys"), second);
            KvGuest.Conn e = g.open("resp");
            assertEquals(KvGuest.NIL + bulk("value-8"), e.call(resp("GET", "key:7") + resp("GET", "key:8")));
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
