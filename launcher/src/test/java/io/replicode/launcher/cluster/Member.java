package io.replicode.launcher.cluster;

import io.replicode.launcher.ReplicodeCommand;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** One {@code replicode node --cluster} member in its own JVM, as {@code ./replicode} starts it, output to a file. */
final class Member {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    final int index;
    final int clusterPort;
    final int respPort;
    final int httpPort;
    final Path data;
    final Path config;
    final Path output;
    List<String> members;
    private Process process;
    private int starts;
    /** The class whose main runs the member: the CLI, or a test's wrapper that injects a fault first. */
    String mainClass = ReplicodeCommand.class.getName();

    Member(int index, int clusterPort, int respPort, int httpPort, Path data, Path config, List<String> members) {
        this.index = index;
        this.clusterPort = clusterPort;
        this.respPort = respPort;
        this.httpPort = httpPort;
        this.data = data;
        this.config = config;
        this.output = data.resolveSibling("member-" + index + ".out");
        this.members = members;
    }

    /** Starts the JVM; {@link #awaitReady} waits for its "ready" line. */
    /** More flags for the member's command line (a test sets them before the first start). */
    final List<String> extraArgs = new ArrayList<>();

    void start() throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx1g");
        Path opts = Path.of("target", "jvm.options");
        if (Files.exists(opts)) {
            cmd.addAll(Arrays.asList(Files.readString(opts).trim().split("\\s+")));
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(List.of("node", "--cluster", "--cluster-host", "127.0.0.1", "--cluster-port", Integer.toString(clusterPort),
                "--cluster-members", String.join(",", members), "--config", config.toString(), "--data", data.toString(),
                "--tcp", respPort + "=kv:resp", "--http-port", Integer.toString(httpPort)));
        cmd.addAll(extraArgs);
        starts++;
        Files.writeString(output, "=== start " + starts + ": " + String.join(" ", cmd.subList(cmd.indexOf(mainClass), cmd.size())) + "\n",
                StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile())).start();
    }

    /** Waits until this start printed "ready"; fails with the end of its output otherwise. */
    void awaitReady(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            String text = Files.readString(output, StandardCharsets.UTF_8);
            int from = text.lastIndexOf("=== start " + starts + ":");
            if (text.indexOf(" ready (Ctrl-C stops)", from) >= 0) {
                return;
            }
            if (!process.isAlive()) {
                throw new AssertionError("member " + index + " exited with " + process.exitValue() + ":\n" + tail());
            }
            Thread.sleep(100);
        }
        throw new AssertionError("member " + index + " printed no 'ready' within " + timeout + ":\n" + tail());
    }

    /** kill -9. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM, then waits for the process to end (a clean leave). */
    void terminate() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
            throw new AssertionError(this + " did not end within 60 s of SIGTERM:\n" + tail());
        }
    }

    /** kill -STOP (true) or kill -CONT (false). */
    void pause(boolean stop) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("kill", stop ? "-STOP" : "-CONT", Long.toString(process.pid())).inheritIO().start();
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError("kill " + (stop ? "-STOP" : "-CONT") + " " + process.pid() + " failed");
        }
    }

    /** The address this member is listed under in --cluster-members. */
    String listed() {
        return "127.0.0.1:" + clusterPort;
    }

    boolean alive() {
        return process != null && process.isAlive();
    }

    String tail() {
        try {
            List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    /** GET {@code path} on this member's HTTP port. */
    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** GET /status as JSON. */
    JsonObject status() throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/status"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        return new JsonObject(r.body());
    }

    /** The kv app's part of this member's status. */
    JsonObject kv() throws IOException, InterruptedException {
        return status().getJsonObject("pipeline").getJsonObject("apps").getJsonObject("kv");
    }

    HttpResponse<String> put(String key, String value) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/kv/" + key))
                .timeout(Duration.ofSeconds(10)).PUT(HttpRequest.BodyPublishers.ofString(value)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public String toString() {
        return "member " + index + " (:" + clusterPort + ")";
    }

    /**
     * Writes {@code dir/cluster-test.json}: {@code settings} plus the kv app (the test guest, listeners resp and http,
     * HTTP on http), beside any apps {@code settings} has; returns its path.
     */
    static Path kvConfig(Path dir, JsonObject settings) throws IOException {
        Path config = dir.resolve("cluster-test.json");
        JsonObject others = settings.getJsonObject("apps", new JsonObject());
        Files.writeString(config, settings.copy().put("apps", others.copy().put("kv", new JsonObject()
                .put("module", io.replicode.node.TestGuests.module("kv_server").toString())
                .put("listeners", new io.vertx.core.json.JsonArray(List.of("resp", "http")))
                .put("http", "http"))).encodePrettily());
        return config;
    }

    /** {@code n} loopback member addresses on free cluster ports (low enough for the Raft port, the cluster port + 1000, to fit). */
    static List<String> clusterAddresses(int n) throws IOException {
        List<String> addresses = new ArrayList<>();
        while (addresses.size() < n) {
            int port = freePort();
            if (port + io.replicode.cluster.RaftMember.RAFT_PORT_OFFSET <= 65535) {
                addresses.add("127.0.0.1:" + port);
            }
        }
        return addresses;
    }

    private static final java.util.concurrent.atomic.AtomicInteger NEXT_PORT =
            new java.util.concurrent.atomic.AtomicInteger(20_000 + new java.util.Random().nextInt(5_000));

    /**
     * A TCP port on loopback that is free when asked, below Linux's ephemeral range (32768-60999): a port taken from
     * that range can be given to some outgoing connection before a restarted member binds it again (seen in CI:
     * "cannot listen on tcp 127.0.0.1:32935 ... the port is in use" at a member's fourth start).
     */
    static int freePort() throws IOException {
        for (int tries = 0; tries < 1_000; tries++) {
            int port = NEXT_PORT.getAndIncrement();
            if (port >= 32_000) {
                NEXT_PORT.set(20_000);
                continue;
            }
            try (java.net.ServerSocket s = new java.net.ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException taken) {
                // Taken: the next one.
            }
        }
        throw new IOException("no free port in 20000-31999 on loopback");
    }

    /** Every member's kv replicas reach the same frame with the same state digest; returns that frame. */
    static long replicasAgree(List<Member> live) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        String last = "";
        while (System.nanoTime() < deadline) {
            java.util.Set<Long> seqs = new java.util.HashSet<>();
            java.util.Set<String> digests = new java.util.HashSet<>();
            StringBuilder seen = new StringBuilder();
            for (Member m : live) {
                for (Object o : m.kv().getJsonArray("replicas")) {
                    JsonObject r = (JsonObject) o;
                    // A replica that just started has no digest yet ("digest": null): it does not agree with anyone.
                    String digest = r.getString("digest");
                    seqs.add(r.getLong("lastSeq"));
                    digests.add(digest == null ? "none yet, at " + m : digest);
                    seen.append(m).append(": frame ").append(r.getLong("lastSeq")).append(' ')
                            .append(digest == null ? "(no digest yet)" : digest.substring(0, Math.min(12, digest.length()))).append("; ");
                }
            }
            last = seen.toString();
            if (seqs.size() == 1 && digests.size() == 1) {
                return seqs.iterator().next();
            }
            Thread.sleep(200);
        }
        throw new AssertionError("replicas did not converge: " + last);
    }

    /** Reads every history's key through {@code m}'s RESP port and checks it against that history. */
    static void historiesHoldThrough(Member m, List<AppendHistory> histories) {
        List<String> problems = new ArrayList<>();
        try (redis.clients.jedis.Jedis jedis = new redis.clients.jedis.Jedis("127.0.0.1", m.respPort, 20_000)) {
            for (AppendHistory h : histories) {
                problems.addAll(h.check(jedis.get(h.key)));
            }
        }
        org.junit.jupiter.api.Assertions.assertEquals(List.of(), problems, "read through " + m);
    }
}
