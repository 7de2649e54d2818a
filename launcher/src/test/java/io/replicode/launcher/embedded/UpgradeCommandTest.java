package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.node.TestGuests;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;

/**
 * {@code ./replicode upgrade} against a real embedded node running kv with three replicas: the data survives an
 * upgrade to a rebuilt module, a node restart after it, and {@code replay verify} across it; a module that answers
 * otherwise is refused by the canary (exit 1, the app serving on) unless its differences are accepted; and an old guest
 * that ignores the hang-up is stopped after its grace while the new module still starts.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class UpgradeCommandTest {
    @TempDir
    Path tmp;

    private KvNode node;

    @AfterEach
    void close() {
        if (node != null) {
            node.close();
        }
    }

    private void start() {
        node = new KvNode(tmp.resolve("data"));
    }

    private Jedis kv() {
        return node.kv();
    }

    /** The kv module with a custom section appended: another module (another hash) with the same behaviour. */
    private Path rebuiltKv() throws Exception {
        byte[] wasm = Files.readAllBytes(TestGuests.module("kv_server"));
        byte[] name = "replicode-upgrade-test".getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(wasm);
        b.write(0); // custom section
        b.write(1 + name.length + 2); // its size (below 128: one LEB128 byte)
        b.write(name.length);
        b.write(name);
        b.write(new byte[] {'v', '2'});
        Path p = tmp.resolve("kv-v2.wasm");
        Files.write(p, b.toByteArray());
        return p;
    }

    private KvNode.Run cli(String... args) {
        return KvNode.cli(args);
    }

    private KvNode.Run upgrade(Path module, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("upgrade", "--app", "kv", "--module", module.toString(),
                "--node", node.url()));
        args.addAll(List.of(more));
        return cli(args.toArray(String[]::new));
    }

    private long replicasAgreeOn(String module) throws Exception {
        return node.replicasAgree(3, module);
    }

    @Test
    void kv_keeps_its_keys_across_an_upgrade_a_restart_and_replay_verify_and_an_answering_otherwise_module_is_refused()
            throws Exception {
        start();
        try (Jedis j = kv()) {
            Pipeline p = j.pipelined();
            for (int i = 0; i < 10_000; i++) {
                if (i % 10 == 0) {
                    p.setex("key:" + i, 3600, "value-" + i);
                } else {
                    p.set("key:" + i, "value-" + i);
                }
            }
            p.sync();
            assertEquals(10_000L, j.dbSize());
        }
        for (int i = 0; i < 20; i++) {
            assertTrue(node.http("PUT", "http-" + i, "through http " + i).startsWith("2"), "PUT http-" + i);
        }
        Path v2 = rebuiltKv();
        KvNode.Run up = upgrade(v2);
        assertEquals(0, up.exit(), up.out() + up.err());
        assertTrue(up.out().contains("no client-visible difference"), up.out());
        assertTrue(up.out().contains("the old guest exited within its grace"), up.out());
        String v2sha = io.replicode.node.ModuleStore.sha256(Files.readAllBytes(v2));
        replicasAgreeOn(v2sha);
        // genesis.json says which module runs from which frame: the switch's frame, as the command printed it.
        java.util.regex.Matcher at = java.util.regex.Pattern.compile("'kv' upgraded to module [0-9a-f]{12} at frame ([0-9]+)")
                .matcher(up.out());
        assertTrue(at.find(), up.out());
        var genesis = new io.vertx.core.json.JsonObject(Files.readString(tmp.resolve("data/kv/genesis.json")));
        var noted = genesis.getJsonArray("upgrades").getJsonObject(0);
        assertEquals(v2sha, noted.getString("module"), genesis.encodePrettily());
        assertEquals(Long.parseLong(at.group(1)), noted.getLong("fromSeq"), genesis.encodePrettily());
        try (Jedis j = kv()) {
            assertEquals(10_020L, j.dbSize());
            assertEquals("value-9999", j.get("key:9999"));
            long ttl = j.ttl("key:10");
            assertTrue(ttl > 3500 && ttl <= 3600, "the expiry time is kept: " + ttl);
            assertEquals(-1L, j.ttl("key:11"));
        }
        assertEquals("200 through http 7", node.http("GET", "http-7", null), "a key written over HTTP, read over HTTP");
        assertTrue(node.output.toString().contains("kv: saved 10020 keys to /data/kv.dump"), node.output.toString());
        assertTrue(node.output.toString().contains("kv: loaded 10020 keys from /data/kv.dump"), node.output.toString());

        // A module that answers otherwise: refused by the canary, the app serving on, unchanged.
        KvNode.Run refused = upgrade(TestGuests.module("echo_server"));
        assertEquals(1, refused.exit(), refused.out() + refused.err());
        assertTrue(refused.err().contains("clients would see other answers from frame "), refused.err());
        assertTrue(refused.err().contains("Fix: if the new version answers differently on purpose, upgrade with"
                + " --accept-differences"), refused.err());
        try (Jedis j = kv()) {
            assertEquals("value-5", j.get("key:5"));
        }
        replicasAgreeOn(v2sha);

        // The node restarts on the upgraded module, and the whole history (genesis module, then v2) verifies.
        node.close();
        node = null;
        start();
        replicasAgreeOn(v2sha);
        try (Jedis j = kv()) {
            assertEquals(10_020L, j.dbSize());
            j.set("after-restart", "yes");
        }
        node.close();
        node = null;
        KvNode.Run verify = cli("replay", "verify", "--data", tmp.resolve("data").toString(), "--app", "kv");
        assertEquals(0, verify.exit(), verify.out() + verify.err());
        assertTrue(verify.out().contains(" 0 divergences"), verify.out());
    }

    @Test
    void an_old_guest_that_ignores_the_hang_up_is_stopped_after_its_grace_and_the_new_module_starts() throws Exception {
        start();
        try (Jedis j = kv()) {
            j.set("kept", "across two upgrades");
        }
        KvNode.Run toDeaf = upgrade(TestGuests.module("deaf"), "--accept-differences");
        assertEquals(0, toDeaf.exit(), toDeaf.out() + toDeaf.err());
        String deaf = io.replicode.node.ModuleStore.sha256(Files.readAllBytes(TestGuests.module("deaf")));
        replicasAgreeOn(deaf);
        // deaf sleeps in poll() a second at a time: its timer frames use up a grace of 3 frames in about 3 s.
        KvNode.Run back = upgrade(TestGuests.module("kv_server"), "--accept-differences", "--grace-frames", "3");
        assertEquals(0, back.exit(), back.out() + back.err());
        String canaryLine = back.out().lines().filter(l -> l.startsWith("canary:")).findFirst().orElse("");
        // No snapshot yet: the canary replays from genesis, where kv ran (and exits at the hang-up), with the same grace.
        assertTrue(canaryLine.contains("switch: upgraded to module") && canaryLine.contains(" of 3); "),
                "the canary gives the old guest the upgrade's grace: " + back.out());
        String switched = back.out().lines().filter(l -> l.startsWith("'kv' upgraded")).findFirst().orElse("");
        assertTrue(switched.contains("the old guest did not exit within its grace of 3 frame(s) and was stopped"),
                back.out());
        try (Jedis j = kv()) {
            assertEquals("across two upgrades", j.get("kept"), "kv's dump waited under /data while deaf ran");
        }
    }
}
