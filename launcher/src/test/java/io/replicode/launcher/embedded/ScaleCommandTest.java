package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * {@code ./replicode scale} against a real embedded node under a write load: kv goes from 3 to 5 replicas (the new ones
 * start from a running replica's snapshot and agree with the others) and back to 2, nothing acknowledged is lost, and
 * the refusals are clear; the count outlives a restart, until the configuration's own count changes.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ScaleCommandTest {
    @TempDir
    Path tmp;

    @Test
    void kv_scales_from_3_to_5_and_back_to_2_under_load_and_every_acknowledged_write_reads_back() throws Exception {
        try (KvNode node = new KvNode(tmp.resolve("data"))) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger acked = new AtomicInteger();
            Thread writer = new Thread(() -> {
                try (Jedis j = node.kv()) {
                    for (int i = 0; i < 200_000 && !stop.get(); i++) {
                        j.set("w" + i, "v" + i);
                        acked.set(i + 1);
                    }
                }
            }, "scale-writer");
            writer.setDaemon(true);
            writer.start();
            while (acked.get() < 500) {
                Thread.sleep(10);
            }
            KvNode.Run up = KvNode.cli("scale", "--app", "kv", "--replicas", "5", "--node", node.url());
            assertEquals(0, up.exit(), up.out() + up.err());
            assertTrue(up.out().contains("replica 4 added from ") && up.out().contains("replica 5 added from "), up.out());
            assertTrue(up.out().contains("'kv' runs 5 replica(s) (was 3)"), up.out());
            System.out.println("scale test: " + up.out().strip().replace('\n', ' '));
            int before = acked.get();
            while (acked.get() < before + 500) {
                Thread.sleep(10);
            }
            node.replicasAgree(5, null);

            KvNode.Run down = KvNode.cli("scale", "--app", "kv", "--replicas", "2", "--node", node.url());
            assertEquals(0, down.exit(), down.out() + down.err());
            assertTrue(down.out().contains("replica 3 removed") && down.out().contains("'kv' runs 2 replica(s) (was 5)"),
                    down.out());
            before = acked.get();
            while (acked.get() < before + 500) {
                Thread.sleep(10);
            }
            stop.set(true);
            writer.join(30_000);
            node.replicasAgree(2, null);
            for (int r = 3; r <= 5; r++) {
                assertFalse(Files.exists(tmp.resolve("data/kv/replica-" + r)), "removed replica " + r + "'s files are gone");
            }
            try (Jedis j = node.kv()) {
                int n = acked.get();
                for (int i = 0; i < n; i += 97) {
                    assertEquals("v" + i, j.get("w" + i), "acknowledged write " + i);
                }
                assertEquals("v" + (n - 1), j.get("w" + (n - 1)));
            }
            assertEquals(0, node.pipeline().getJsonObject("divergence").getLong("divergences"));

            KvNode.Run zero = KvNode.cli("scale", "--app", "kv", "--replicas", "0", "--node", node.url());
            assertEquals(2, zero.exit());
            assertTrue(zero.err().contains("an app runs 1..16 replicas in one node or member, not 0"), zero.err());
        }
        // The count set by scale outlives a restart with the same configuration (3 replicas).
        try (KvNode node = new KvNode(tmp.resolve("data"))) {
            node.replicasAgree(2, null);
            assertTrue(node.output.toString().contains("'kv' runs 2 replica(s), as `replicode scale` set (the configuration"
                    + " says 3"), node.output.toString());
            try (Jedis j = node.kv()) {
                assertEquals("v0", j.get("w0"));
            }
        }
    }

    @Test
    void a_configuration_that_changes_its_count_after_a_scale_wins_over_it() throws Exception {
        try (KvNode node = new KvNode(tmp.resolve("data"))) {
            KvNode.Run up = KvNode.cli("scale", "--app", "kv", "--replicas", "4", "--node", node.url());
            assertEquals(0, up.exit(), up.out() + up.err());
        }
        try (KvNode node = new KvNode(tmp.resolve("data"), 2)) {
            node.replicasAgree(2, null);
            assertTrue(node.output.toString().contains("the configuration now asks for 2 replica(s) of 'kv' (it asked for 3"
                    + " when `replicode scale` set 4): the configured count runs"), node.output.toString());
            assertFalse(Files.exists(tmp.resolve("data/kv/replicas.json")));
        }
    }
}
