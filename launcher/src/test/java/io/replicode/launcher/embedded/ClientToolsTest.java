package io.replicode.launcher.embedded;

import io.replicode.node.EmbeddedNode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.replicode.node.TestGuests;
import io.replicode.node.config.AppConfig;
import io.replicode.node.config.Batching;
import io.replicode.node.config.NodeConfig;
import io.replicode.node.config.TcpBinding;
import io.replicode.replay.ReplayLog;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.module.Engine;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The default apps through the whole embedded pipeline (gateway, sequencer, fsynced log, three replicas),
 * driven by the real clients a newcomer uses: redis-cli, redis-benchmark, curl. Each test is skipped only
 * when its tool is not installed (.ci/run installs them).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClientToolsTest {
    @TempDir
    static Path tmp;

    private EmbeddedNode node;
    private int resp;
    private int line;
    private int files;

    @BeforeAll
    void start() {
        AppConfig kv = new AppConfig("kv", TestGuests.module("kv_server"), List.of("resp", "http", "line"),
                List.of(new TcpBinding(0, "resp"), new TcpBinding(0, "line")), GuestLimits.DEFAULT, 256, List.of(), Map.of(),
                AppConfig.DEFAULT_PREOPENS, "http");
        AppConfig image = new AppConfig("image", TestGuests.module("image_server"), List.of("http", "files"),
                List.of(new TcpBinding(0, "files")), GuestLimits.DEFAULT, 64, List.of(), Map.of(), AppConfig.DEFAULT_PREOPENS,
                "http");
        node = EmbeddedNode.start(new NodeConfig("127.0.0.1", Engine.COMPILER, tmp.resolve("data"), Batching.DEFAULT,
                List.of(kv, image), 0, 3, ReplayLog.FsyncPolicy.ALWAYS, 1000), new PrintWriter(new StringWriter(), true));
        for (var e : node.tcpEndpoints()) {
            if (e.listener().equals("resp")) {
                resp = e.port();
            } else if (e.listener().equals("line")) {
                line = e.port();
            } else if (e.listener().equals("files")) {
                files = e.port();
            }
        }
    }

    @AfterAll
    void stop() {
        node.close();
    }

    private static boolean installed(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Runs a client, returns its stdout; fails on a non-zero exit or a hang. */
    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "client did not finish: " + String.join(" ", cmd));
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed: " + text);
        return text;
    }

    private String http(String path) {
        return "http://127.0.0.1:" + node.httpPort() + path;
    }

    @Test
    void redis_cli_sets_and_increments() throws Exception {
        assumeTrue(installed("redis-cli"), "redis-cli is not installed");
        String port = Integer.toString(resp);
        assertEquals("OK\n", run("redis-cli", "-p", port, "set", "counter", "41"));
        assertEquals("42\n", run("redis-cli", "-p", port, "incr", "counter"));
        assertEquals("PONG\n", run("redis-cli", "-p", port, "ping"));
    }

    @Test
    void a_redis_client_library_works_against_the_replicated_kv() {
        try (redis.clients.jedis.Jedis jedis = new redis.clients.jedis.Jedis("127.0.0.1", resp)) {
            assertEquals("OK", jedis.set("lib:a", "1"));
            assertEquals(2, jedis.incr("lib:a"));
            assertEquals("OK", jedis.mset("lib:b", "x", "lib:c", "y"));
            assertEquals(List.of("x", "y"), jedis.mget("lib:b", "lib:c"));
            assertEquals(1, jedis.expire("lib:b", 100));
            long ttl = jedis.ttl("lib:b");
            assertTrue(ttl > 0 && ttl <= 100, "ttl " + ttl);
            redis.clients.jedis.Pipeline p = jedis.pipelined();
            for (int i = 0; i < 100; i++) {
                p.set("lib:p" + i, "v" + i);
            }
            p.sync();
            assertEquals("v99", jedis.get("lib:p99"));
            assertEquals(2, jedis.del("lib:b", "lib:c"));
            var scan = jedis.scan("0", new redis.clients.jedis.params.ScanParams().match("lib:p1*").count(1000));
            assertEquals(11, scan.getResult().size(), "lib:p1 and lib:p10..p19: " + scan.getResult());
        }
    }

    @Test
    void redis_benchmark_completes_and_the_replicas_agree() throws Exception {
        assumeTrue(installed("redis-benchmark"), "redis-benchmark is not installed");
        String out = run("redis-benchmark", "-p", Integer.toString(resp), "-t", "set,get", "-n", "2000", "-c", "10", "--csv");
        assertTrue(out.contains("\"SET\"") && out.contains("\"GET\""), out);
        assertEquals("OK\n", run("redis-cli", "-p", Integer.toString(resp), "set", "after-benchmark", "1"),
                "the server still answers after the benchmark");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            var replicas = node.status().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS)
                    .getJsonObject("pipeline").getJsonObject("apps").getJsonObject("kv").getJsonArray("replicas");
            java.util.Set<String> points = new java.util.HashSet<>();
            for (int i = 0; i < replicas.size(); i++) {
                points.add(replicas.getJsonObject(i).getLong("lastSeq") + "/" + replicas.getJsonObject(i).getString("digest"));
            }
            if (replicas.size() == 3 && points.size() == 1) {
                break;
            }
            assertTrue(System.nanoTime() < deadline, "replicas do not agree after the benchmark: " + replicas.encode());
            Thread.sleep(20);
        }
    }

    @Test
    void curl_puts_and_gets_through_the_gateway_and_the_line_protocol_sees_it() throws Exception {
        assumeTrue(installed("curl"), "curl is not installed");
        assertEquals("201", run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "--data-binary", "world",
                http("/kv/hello")));
        assertEquals("world", run("curl", "-s", http("/kv/hello")));
        assertEquals("404", run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", http("/nope/x")));
        try (var s = new java.net.Socket("127.0.0.1", line)) {
            s.getOutputStream().write("GET hello\n".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertEquals("VALUE world\n", new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
        }
    }

    @Test
    void curl_uploads_a_photo_and_gets_a_grayscale_thumbnail() throws Exception {
        assumeTrue(installed("curl"), "curl is not installed");
        BufferedImage photo = new BufferedImage(160, 120, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 120; y++) {
            for (int x = 0; x < 160; x++) {
                photo.setRGB(x, y, (x * 255 / 160) << 16 | (y * 255 / 120) << 8 | ((x + y) & 0xFF));
            }
        }
        Path in = tmp.resolve("photo.png");
        ImageIO.write(photo, "png", in.toFile());
        String stored = run("curl", "-s", "-T", in.toString(), http("/image/images/photo.png"));
        assertTrue(stored.contains("\"width\":160") && stored.contains("\"height\":120"), stored);
        Path out = tmp.resolve("thumb.png");
        assertEquals("200", run("curl", "-s", "-o", out.toString(), "-w", "%{http_code}",
                http("/image/images/photo.png?grayscale&thumbnail=64")));
        BufferedImage thumb = ImageIO.read(out.toFile());
        assertEquals(64, thumb.getWidth());
        assertEquals(48, thumb.getHeight());
        int rgb = thumb.getRGB(10, 10);
        assertEquals((rgb >> 16) & 0xFF, rgb & 0xFF, "grayscale: red equals blue");
        // The original RepliCode file protocol on the same app.
        try (var s = new java.net.Socket("127.0.0.1", files)) {
            s.getOutputStream().write("GET missing.txt\n".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertEquals("ERROR: File not found\n", new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
        }
    }
}
