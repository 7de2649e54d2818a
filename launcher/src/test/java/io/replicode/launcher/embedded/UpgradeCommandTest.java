package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.replicode.launcher.ReplicodeCommand;
import io.replicode.node.EmbeddedNode;
import io.replicode.node.TestGuests;
import io.replicode.node.config.AppConfig;
import io.replicode.node.config.Batching;
import io.replicode.node.config.NodeConfig;
import io.replicode.node.config.TcpBinding;
import io.replicode.replay.ReplayLog;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.module.Engine;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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

    private final StringWriter output = new StringWriter();
    private EmbeddedNode node;

    @AfterEach
    void close() {
        if (node != null) {
            node.close();
        }
    }

    private void start() {
        AppConfig kv = new AppConfig("kv", TestGuests.module("kv_server"), List.of("resp"), List.of(new TcpBinding(0, "resp")),
                GuestLimits.DEFAULT, 64);
        node = EmbeddedNode.start(new NodeConfig("127.0.0.1", Engine.COMPILER, tmp.resolve("data"), Batching.DEFAULT,
                List.of(kv), 0, 3, ReplayLog.FsyncPolicy.ALWAYS, 1000), new PrintWriter(output, true));
    }

    private Jedis kv() {
        return new Jedis("127.0.0.1", node.tcpEndpoints().get(0).port(), 20_000);
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

    private record Run(int exit, String out, String err) {}

    private Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cli = ReplicodeCommand.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private Run upgrade(Path module, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("upgrade", "--app", "kv", "--module", module.toString(),
                "--node", "http://127.0.0.1:" + node.httpPort()));
        args.addAll(List.of(more));
        return cli(args.toArray(String[]::new));
    }

    private JsonObject kvPipeline() throws Exception {
        JsonObject s = node.status().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
        return s.getJsonObject("pipeline").getJsonObject("apps").getJsonObject("kv");
    }

    /** Every replica at the same frame with the same state digest, running {@code module}; returns that frame. */
    private long replicasAgreeOn(String module) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String seen = "";
        while (System.nanoTime() < deadline) {
            JsonArray rs = kvPipeline().getJsonArray("replicas");
            Set<String> points = new HashSet<>();
            for (int i = 0; i < rs.size(); i++) {
                JsonObject r = rs.getJsonObject(i);
                points.add(r.getLong("lastSeq") + "/" + r.getLong("digestSeq") + "/" + r.getString("digest") + "/"
                        + r.getString("module"));
            }
            seen = points.toString();
            String only = points.size() == 1 ? points.iterator().next() : "";
            String[] p = only.split("/");
            if (rs.size() == 3 && p.length == 4 && p[0].equals(p[1]) && p[3].equals(module)) {
                return Long.parseLong(p[0]);
            }
            Thread.sleep(100);
        }
        fail("the replicas do not agree on module " + module.substring(0, 12) + ": " + seen);
        return -1;
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
        Path v2 = rebuiltKv();
        Run up = upgrade(v2);
        assertEquals(0, up.exit(), up.out() + up.err());
        assertTrue(up.out().contains("no client-visible difference"), up.out());
        assertTrue(up.out().contains("the old guest exited within its grace"), up.out());
        String v2sha = io.replicode.node.ModuleStore.sha256(Files.readAllBytes(v2));
        replicasAgreeOn(v2sha);
        try (Jedis j = kv()) {
            assertEquals(10_000L, j.dbSize());
            assertEquals("value-9999", j.get("key:9999"));
            long ttl = j.ttl("key:10");
            assertTrue(ttl > 3500 && ttl <= 3600, "the expiry time is kept: " + ttl);
            assertEquals(-1L, j.ttl("key:11"));
        }
        assertTrue(output.toString().contains("kv: saved 10000 keys to /data/kv.dump"), output.toString());
        assertTrue(output.toString().contains("kv: loaded 10000 keys from /data/kv.dump"), output.toString());

        // A module that answers otherwise: refused by the canary, the app serving on, unchanged.
        Run refused = upgrade(TestGuests.module("echo_server"));
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
            assertEquals(10_000L, j.dbSize());
            j.set("after-restart", "yes");
        }
        node.close();
        node = null;
        Run verify = cli("replay", "verify", "--data", tmp.resolve("data").toString(), "--app", "kv");
        assertEquals(0, verify.exit(), verify.out() + verify.err());
        assertTrue(verify.out().contains(" 0 divergences"), verify.out());
    }

    @Test
    void an_old_guest_that_ignores_the_hang_up_is_stopped_after_its_grace_and_the_new_module_starts() throws Exception {
        start();
        try (Jedis j = kv()) {
            j.set("kept", "across two upgrades");
        }
        Run toDeaf = upgrade(TestGuests.module("deaf"), "--accept-differences");
        assertEquals(0, toDeaf.exit(), toDeaf.out() + toDeaf.err());
        String deaf = io.replicode.node.ModuleStore.sha256(Files.readAllBytes(TestGuests.module("deaf")));
        replicasAgreeOn(deaf);
        // deaf sleeps in poll() a second at a time: its timer frames use up a grace of 3 frames in about 3 s.
        Run back = upgrade(TestGuests.module("kv_server"), "--accept-differences", "--grace-frames", "3");
        assertEquals(0, back.exit(), back.out() + back.err());
        assertTrue(back.out().contains("the old guest did not exit within its grace of 3 frame(s) and was stopped"),
                back.out());
        try (Jedis j = kv()) {
            assertEquals("across two upgrades", j.get("kept"), "kv's dump waited under /data while deaf ran");
        }
    }
}
