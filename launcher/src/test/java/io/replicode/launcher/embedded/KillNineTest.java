package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.launcher.ReplicodeCommand;
import io.replicode.node.TestGuests;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of a node while a client writes, then a restart on the same data directory: every write
 * the client saw acknowledged is still there, and all replicas agree on the state.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class KillNineTest {
    @TempDir
    Path data;

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A node in its own JVM, started like ./replicode does, ready when it printed "ready". */
    private static Process startNode(Path data, int respPort, int httpPort) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-XX:-DontCompileHugeMethods");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(ReplicodeCommand.class.getName());
        cmd.addAll(List.of("run", "--data", data.toString(), "--app", "kv=" + TestGuests.module("kv_server"),
                "--tcp", respPort + "=kv:resp", "--http", "kv", "--http-port", Integer.toString(httpPort)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        String line;
        while ((line = out.readLine()) != null) {
            seen.append(line).append('\n');
            if (line.contains(" ready (Ctrl-C stops)")) {
                // Keep draining its output so the child never blocks on a full pipe.
                Thread drain = new Thread(() -> {
                    try {
                        out.transferTo(java.io.Writer.nullWriter());
                    } catch (IOException ignored) {
                        // the process ended
                    }
                });
                drain.setDaemon(true);
                drain.start();
                return p;
            }
            if (System.nanoTime() > deadline) {
                break;
            }
        }
        p.destroyForcibly();
        throw new AssertionError("node did not become ready:\n" + seen);
    }

    /** One RESP command, one reply line (simple string, integer, error or bulk header + bulk). */
    private static String command(Socket s, String... args) throws IOException {
        StringBuilder b = new StringBuilder("*" + args.length + "\r\n");
        for (String a : args) {
            b.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
        }
        OutputStream out = s.getOutputStream();
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
        InputStream in = s.getInputStream();
        String first = readLine(in);
        if (first.startsWith("$") && !first.equals("$-1")) {
            int len = Integer.parseInt(first.substring(1));
            byte[] body = in.readNBytes(len + 2);
            return new String(body, 0, len, StandardCharsets.UTF_8);
        }
        return first;
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                throw new IOException("connection closed");
            }
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.toString();
    }

    @Test
    void acknowledged_writes_survive_kill_9_and_replicas_agree() throws Exception {
        int resp = freePort();
        int http = freePort();
        Set<Integer> acknowledged = new HashSet<>();
        Process node = startNode(data, resp, http);
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), resp)) {
            s.setSoTimeout(15_000);
            for (int i = 1; i <= 2000; i++) {
                if (i == 150) {
                    // SIGKILL while writes keep coming: no shutdown hook, no flush, no goodbye.
                    Process victim = node;
                    new Thread(victim::destroyForcibly).start();
                }
                try {
                    if (command(s, "SET", "key" + i, "value" + i).equals("+OK")) {
                        acknowledged.add(i);
                    }
                } catch (IOException killed) {
                    break;
                }
            }
        } catch (IOException killedBeforeConnect) {
            // the node died: acknowledged holds what it confirmed
        }
        assertTrue(node.waitFor(30, TimeUnit.SECONDS));
        assertTrue(acknowledged.size() >= 149, "writes were acknowledged before the kill: " + acknowledged.size());

        Process again = startNode(data, resp, http);
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), resp)) {
            s.setSoTimeout(15_000);
            for (int i : acknowledged) {
                assertEquals("value" + i, command(s, "GET", "key" + i), "acknowledged key" + i + " after kill -9");
            }
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            JsonArray replicas = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                String body = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http + "/status")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                replicas = new JsonObject(body).getJsonObject("pipeline").getJsonObject("apps").getJsonObject("kv")
                        .getJsonArray("replicas");
                Set<String> points = new HashSet<>();
                for (int r = 0; r < replicas.size(); r++) {
                    points.add(replicas.getJsonObject(r).getLong("lastSeq") + "/" + replicas.getJsonObject(r).getString("digest"));
                }
                if (replicas.size() == 3 && points.size() == 1) {
                    break;
                }
                Thread.sleep(50);
            }
            Set<String> digests = new HashSet<>();
            for (int r = 0; r < replicas.size(); r++) {
                digests.add(replicas.getJsonObject(r).getString("digest"));
            }
            assertEquals(1, digests.size(), "replicas agree after the restart: " + replicas.encode());
        } finally {
            again.destroyForcibly();
            again.waitFor(30, TimeUnit.SECONDS);
        }
    }
}
