package io.replicode.launcher.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.launcher.ReplicodeCommand;
import io.replicode.node.TestGuests;
import io.vertx.core.json.JsonArray;
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
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * A symmetric network partition that isolates the Raft leader of kv for 20 s under load, then heals: no acknowledged
 * write is lost or doubled, and every member serves again within 10 s of the heal. The three members run in a network
 * namespace ({@link NetworkLab}: own uid and 127.0.0.x address each, cut by routing rules); the writers and the checks
 * run in this JVM through forwarded ports, as clients from 127.0.0.1, which no cut touches. Skipped, with the reason,
 * where the namespace cannot be made (not root, tools missing).
 */
@Timeout(value = 400, unit = TimeUnit.SECONDS)
class ClusterPartitionTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final int CLUSTER_PORT = 5811;
    private static final int RESP_PORT = 6390;
    private static final int HTTP_PORT = 8090;

    /** A member inside the lab: its process, and the ports forwarded to this JVM. */
    private record LabMember(int index, Process process, int resp, int http, Path output) {
        /** The member's /status; /status is rate-limited per client (2/s after a burst), so a 429 waits and asks again. */
        JsonObject status() throws IOException, InterruptedException {
            for (int attempt = 0; ; attempt++) {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http + "/status"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 429 || attempt == 20) {
                    return new JsonObject(r.body());
                }
                Thread.sleep(600);
            }
        }

        JsonObject kv() throws IOException, InterruptedException {
            return status().getJsonObject("pipeline").getJsonObject("apps").getJsonObject("kv");
        }

        String tail() {
            try {
                List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
                return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
            } catch (IOException e) {
                return "(no output: " + e + ")";
            }
        }
    }

    @Test
    void isolating_the_leader_for_20_s_under_load_loses_nothing_and_every_member_serves_within_10_s_of_the_heal(
            @TempDir Path tmp) throws Exception {
        var why = NetworkLab.unavailableReason();
        Assumptions.assumeTrue(why.isEmpty(), () -> "no network lab here: " + why.orElse(""));
        // Members run as other uids: they may search (not list) the test's private temp directory. access(2), which
        // Java's createDirectories calls, checks the real uid without capabilities, so CAP_DAC_READ_SEARCH is not enough.
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        Path config = tmp.resolve("partition-test.json");
        Files.writeString(config, new JsonObject()
                .put("snapshotEveryFrames", 200)
                .put("apps", new JsonObject().put("kv", new JsonObject()
                        .put("module", TestGuests.module("kv_server").toAbsolutePath().toString())
                        .put("listeners", new JsonArray(List.of("resp", "http")))
                        .put("http", "http")))
                .encodePrettily());
        List<LabMember> members = new ArrayList<>();
        try (NetworkLab lab = NetworkLab.start(3, tmp.resolve("lab"))) {
            List<String> listed = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                listed.add(lab.address(i) + ":" + (CLUSTER_PORT + i));
            }
            List<String> jvm = new ArrayList<>(List.of("-Xmx700m"));
            Path opts = Path.of("target", "jvm.options");
            if (Files.exists(opts)) {
                jvm.addAll(Arrays.asList(Files.readString(opts).trim().split("\\s+")));
            }
            for (int i = 0; i < 3; i++) {
                String a = lab.address(i);
                // Outputs outlive the test (target/cluster-partition-test), for a look after a failure.
                Path outDir = Path.of("target", "cluster-partition-test");
                Files.createDirectories(outDir);
                Path out = outDir.resolve("member-" + i + ".out");
                Process p = lab.member(i, NetworkLab.java(jvm, ReplicodeCommand.class, "node", "--cluster", "--cluster-host", a,
                        "--cluster-port", Integer.toString(CLUSTER_PORT + i), "--cluster-members", String.join(",", listed),
                        "--config", config.toString(), "--data", lab.dir(i).resolve("data").toString(), "--host", a,
                        "--tcp", RESP_PORT + "=kv:resp", "--http-port", Integer.toString(HTTP_PORT)))
                        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
                members.add(new LabMember(i, p, lab.forward(a, RESP_PORT), lab.forward(a, HTTP_PORT), out));
            }
            try {
                run(lab, members);
            } catch (AssertionError | Exception e) {
                // The outputs in target/ are overwritten by the next run and gone with a CI workspace: the end of each
                // member's output goes into the test's own output, which the build log keeps.
                for (LabMember m : members) {
                    try {
                        // Latin-1 reads any bytes, so a stray one cannot hide the failure being reported.
                        List<String> lines = Files.readAllLines(m.output(), java.nio.charset.StandardCharsets.ISO_8859_1);
                        System.out.println("partition test: member " + m.index() + "'s last " + Math.min(200, lines.size())
                                + " of " + lines.size() + " output lines:\n  "
                                + String.join("\n  ", lines.subList(Math.max(0, lines.size() - 200), lines.size())));
                    } catch (IOException notRead) {
                        System.out.println("partition test: member " + m.index() + "'s output not read: " + notRead);
                    }
                }
                throw e;
            } finally {
                for (LabMember m : members) {
                    m.process().destroyForcibly();
                    m.process().waitFor(30, TimeUnit.SECONDS);
                }
            }
        }
    }

    private void run(NetworkLab lab, List<LabMember> members) throws Exception {
        for (LabMember m : members) {
            awaitReady(m);
        }
        LabMember leader = leaderOfKv(members);
        List<AppendHistory> histories = List.of(new AppendHistory("p0"), new AppendHistory("p1"), new AppendHistory("p2"));
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        java.util.concurrent.atomic.AtomicLong acks = new java.util.concurrent.atomic.AtomicLong();
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < histories.size(); w++) {
            AppendHistory h = histories.get(w);
            int first = w;
            Thread t = new Thread(() -> write(h, members, first, stop, acks, errors), "partition-writer-" + w);
            t.setDaemon(true);
            writers.add(t);
            t.start();
        }
        try {
            awaitAcks(acks, 200, 60, "writes before the cut", errors);
            System.out.println("partition test: cutting off member " + leader.index() + " (the leader of kv)");
            lab.cut(Set.of(leader.index()));
            Thread.sleep(3_000);
            awaitAcks(acks, 100, 40, "writes on the majority side during the cut", errors);
            Thread.sleep(20_000 - 3_000);
            lab.heal();
            long healedNs = System.nanoTime();
            System.out.println("partition test: healed at " + java.time.LocalTime.now());
            List<String> timeline = new java.util.concurrent.CopyOnWriteArrayList<>();
            AtomicBoolean served = new AtomicBoolean();
            Thread watcher = new Thread(() -> watch(leader, healedNs, served, timeline), "partition-watcher");
            watcher.setDaemon(true);
            watcher.start();
            long[] servedMs;
            try {
                servedMs = serveWithin(members, 10, healedNs);
            } finally {
                served.set(true);
                watcher.join(5_000);
                System.out.println("partition test: the cut member after the heal (ms: raft role/leader/applied,"
                        + " replica frame, unacknowledged batches):\n  " + String.join("\n  ", timeline));
            }
            System.out.println("partition test: member " + leader.index() + " (the leader) cut off 20 s; members served again "
                    + Arrays.toString(servedMs) + " ms after the heal");
            awaitAcks(acks, 200, 60, "writes after the heal", errors);
        } finally {
            stop.set(true);
            for (Thread t : writers) {
                t.join(60_000);
            }
        }
        for (LabMember m : members) {
            List<String> problems = new ArrayList<>();
            try (Jedis jedis = new Jedis("127.0.0.1", m.resp(), 20_000)) {
                for (AppendHistory h : histories) {
                    problems.addAll(h.check(jedis.get(h.key)));
                }
            }
            assertEquals(List.of(), problems, "read through member " + m.index());
        }
        replicasAgree(members);
    }

    /** Records, until {@code done}, each change in what the cut member's /status says about its way back. */
    private static void watch(LabMember m, long fromNs, AtomicBoolean done, List<String> timeline) {
        String last = "";
        long until = fromNs + TimeUnit.SECONDS.toNanos(15);
        while (!done.get() && System.nanoTime() < until) {
            String now;
            try {
                JsonObject status = m.status();
                JsonObject kv = status.getJsonObject("pipeline").getJsonObject("apps").getJsonObject("kv");
                JsonObject raft = kv.getJsonObject("raft");
                JsonObject replica = kv.getJsonArray("replicas").getJsonObject(0);
                now = raft.getString("role") + "/" + raft.getString("leader") + "/" + raft.getLong("appliedIndex") + " frame "
                        + replica.getLong("lastSeq") + " unacked " + status.getJsonObject("unacknowledgedBatches").getInteger("kv");
            } catch (IOException | RuntimeException e) {
                now = "no status: " + e.getClass().getSimpleName();
            } catch (InterruptedException e) {
                return;
            }
            if (!now.equals(last)) {
                timeline.add((System.nanoTime() - fromNs) / 1_000_000 + " " + now);
                last = now;
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static void write(AppendHistory h, List<LabMember> via, int first, AtomicBoolean stop,
                              java.util.concurrent.atomic.AtomicLong acks, ConcurrentLinkedQueue<String> errors) {
        h.write(via.stream().map(LabMember::resp).toList(), first, 100_000, System.nanoTime() + TimeUnit.SECONDS.toNanos(240),
                10_000, stop::get, (issued, acked) -> acks.incrementAndGet(), errors::add);
    }

    private static void awaitAcks(java.util.concurrent.atomic.AtomicLong acks, int n, int seconds, String what,
                                  ConcurrentLinkedQueue<String> errors) throws InterruptedException {
        long at = acks.get();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (acks.get() < at + n && System.nanoTime() < until) {
            Thread.sleep(50);
        }
        assertTrue(acks.get() >= at + n, what + ": " + (acks.get() - at) + " of " + n + " acknowledged in " + seconds
                + " s; errors " + List.copyOf(errors).subList(0, Math.min(5, errors.size())));
    }

    /** Probes every member (a SET on its RESP port) until each has answered once; returns ms after {@code fromNs}. */
    private static long[] serveWithin(List<LabMember> members, int seconds, long fromNs) throws InterruptedException {
        long deadline = fromNs + TimeUnit.SECONDS.toNanos(seconds);
        long[] served = new long[members.size()];
        Arrays.fill(served, -1);
        String[] problem = new String[members.size()];
        while (Arrays.stream(served).anyMatch(t -> t < 0) && System.nanoTime() < deadline) {
            for (LabMember m : members) {
                if (served[m.index()] >= 0) {
                    continue;
                }
                try (Jedis j = new Jedis("127.0.0.1", m.resp(), 2_000)) {
                    if ("OK".equals(j.set("probe-" + m.index(), "x"))) {
                        served[m.index()] = (System.nanoTime() - fromNs) / 1_000_000;
                    }
                } catch (RuntimeException e) {
                    problem[m.index()] = e.toString();
                }
            }
            Thread.sleep(100);
        }
        for (LabMember m : members) {
            if (served[m.index()] < 0) {
                String status;
                try {
                    JsonObject all = m.status();
                    all.remove("nat");
                    StringBuilder others = new StringBuilder();
                    for (LabMember o : members) {
                        if (o != m) {
                            others.append("\nmember ").append(o.index()).append(" sequencer: ").append(o.kv().getJsonObject("sequencer").encode());
                        }
                    }
                    status = all.encodePrettily() + others;
                } catch (IOException | RuntimeException e) {
                    status = "(no status: " + e + ")";
                }
                throw new AssertionError("member " + m.index() + " does not serve within " + seconds + " s of the heal ("
                        + Arrays.toString(served) + " ms): " + problem[m.index()] + "\nits kv status: " + status + "\n" + m.tail());
            }
        }
        return served;
    }

    private static void awaitReady(LabMember m) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
        while (System.nanoTime() < deadline) {
            if (Files.exists(m.output()) && Files.readString(m.output(), StandardCharsets.UTF_8).contains(" ready (Ctrl-C stops)")) {
                return;
            }
            if (!m.process().isAlive()) {
                throw new AssertionError("member " + m.index() + " exited with " + m.process().exitValue() + ":\n" + m.tail());
            }
            Thread.sleep(200);
        }
        throw new AssertionError("member " + m.index() + " printed no 'ready' within 150 s:\n" + m.tail());
    }

    private static LabMember leaderOfKv(List<LabMember> members) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            for (LabMember m : members) {
                JsonObject s = m.kv().getJsonObject("sequencer");
                if (s != null && "sequencing".equals(s.getString("state"))) {
                    return m;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no member sequences kv");
    }

    private static void replicasAgree(List<LabMember> members) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        String seen = "";
        while (System.nanoTime() < deadline) {
            Set<String> states = new HashSet<>();
            StringBuilder b = new StringBuilder();
            for (LabMember m : members) {
                JsonObject r = m.kv().getJsonArray("replicas").getJsonObject(0);
                states.add(r.getLong("lastSeq") + "/" + r.getString("digest"));
                b.append(m.index()).append(": ").append(r.getLong("lastSeq")).append(' ').append(r.getString("digest")).append("; ");
            }
            seen = b.toString();
            if (states.size() == 1) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("replicas did not converge: " + seen);
    }
}
