package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.gateway.status.StatusReport;
import io.replicode.node.config.Operations;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * What an operator looks at and guards, on a real node with kv: {@code /metrics} in Prometheus's text format with
 * series that move with traffic, {@code /health} and {@code /ready}, and the admin token (401 without it, the client
 * addresses in {@code /status} only for its holder, the CLI sending it).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class OperationsTest {
    @TempDir
    Path tmp;

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static HttpResponse<String> get(KvNode node, String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.url() + path)).timeout(Duration.ofSeconds(15));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The samples of a Prometheus text page: {@code name{labels}} to value. */
    private static Map<String, Double> scrape(KvNode node) throws Exception {
        HttpResponse<String> r = get(node, "/metrics", null);
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"),
                r.headers().toString());
        Map<String, Double> samples = new HashMap<>();
        for (String line : r.body().split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
        }
        return samples;
    }

    private static double value(Map<String, Double> samples, String series) {
        Double v = samples.get(series);
        if (v == null) {
            throw new AssertionError("no series " + series + " in /metrics; replicode series: " + samples.keySet().stream()
                    .filter(k -> k.startsWith("replicode_")).sorted().toList());
        }
        return v;
    }

    @Test
    void metrics_move_with_traffic_and_the_node_is_live_and_ready() throws Exception {
        try (KvNode node = new KvNode(tmp.resolve("data"))) {
            Map<String, Double> before = scrape(node);
            int requestBytes = 0;
            try (Jedis j = node.kv()) {
                for (int i = 0; i < 200; i++) {
                    j.set("m" + i, "value-" + i);
                    requestBytes += ("*3\r\n$3\r\nSET\r\n$" + ("m" + i).length() + "\r\nm" + i + "\r\n$" + ("value-" + i).length()
                            + "\r\nvalue-" + i + "\r\n").length();
                }
                node.replicasAgree(3, null);
                Map<String, Double> after = scrape(node);
                String kv = "{app=\"kv\"}";
                assertTrue(value(after, "replicode_frames_sequenced_total" + kv) >= value(before, "replicode_frames_sequenced_total" + kv) + 1);
                assertTrue(value(after, "replicode_events_sequenced_total" + kv) >= value(before, "replicode_events_sequenced_total" + kv) + 200);
                assertTrue(value(after, "replicode_client_received_bytes_total" + kv) - value(before, "replicode_client_received_bytes_total" + kv)
                        >= requestBytes, "every request byte counted");
                assertTrue(value(after, "replicode_client_sent_bytes_total" + kv) - value(before, "replicode_client_sent_bytes_total" + kv)
                        >= 200 * "+OK\r\n".length(), "every answer byte counted");
                assertEquals(1.0, value(after, "replicode_connections_open" + kv));
                for (int r = 1; r <= 3; r++) {
                    String replica = "{app=\"kv\",replica=\"" + r + "\"}";
                    assertTrue(value(after, "replicode_frame_apply_seconds_count" + replica) >= 200, "replica " + r + " applied");
                    assertEquals(0.0, value(after, "replicode_replica_lag_frames" + replica));
                    assertEquals(1.0, value(after, "replicode_replica_running" + replica));
                    assertTrue(value(after, "replicode_guest_fuel_consumed_total" + replica) > 0);
                }
                assertEquals(0.0, value(after, "replicode_divergences_total" + kv));
                assertTrue(value(after, "replicode_frames_compared_total" + kv) > 0);
                assertEquals(0.0, value(after, "replicode_app_stopped" + kv));
                assertEquals(0.0, value(after, "replicode_app_stops_total" + kv));
                assertTrue(after.keySet().stream().anyMatch(k -> k.startsWith("replicode_frame_apply_seconds_bucket{app=\"kv\"") && k.contains("le=")),
                        "the apply latency is a histogram");
                assertTrue(after.keySet().stream().anyMatch(k -> k.startsWith("jvm_memory_used_bytes{")), "JVM meters");
                assertTrue(after.containsKey("process_uptime_seconds"), "process meters");
            }
            HttpResponse<String> health = get(node, "/health", null);
            assertEquals(200, health.statusCode(), health.body());
            HttpResponse<String> ready = get(node, "/ready", null);
            assertEquals(200, ready.statusCode(), ready.body());
            assertEquals("READY", new JsonObject(ready.body()).getString("status"));
        }
    }

    @Test
    void with_an_admin_token_status_and_admin_need_it_and_without_one_status_hides_clients() throws Exception {
        String token = "s3cret-" + System.nanoTime();
        Path tokenFile = Files.writeString(tmp.resolve("token"), token + "\n");
        try (KvNode node = new KvNode(tmp.resolve("guarded"), 3, new Operations(token)); Jedis open = node.kv()) {
            open.set("k", "v");
            HttpResponse<String> denied = get(node, "/status", null);
            assertEquals(401, denied.statusCode(), denied.body());
            assertTrue(denied.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));
            assertTrue(new JsonObject(denied.body()).getString("fix").contains("Authorization: Bearer"), denied.body());
            assertEquals(401, get(node, "/status", "wrong-" + token).statusCode());
            HttpResponse<String> allowed = get(node, "/status", token);
            assertEquals(200, allowed.statusCode(), allowed.body());
            assertTrue(externals(allowed).stream().anyMatch(e -> e.startsWith("127.0.0.1:")), "the holder sees clients: " + externals(allowed));
            for (String open2 : new String[] {"/health", "/ready", "/metrics"}) {
                assertEquals(200, get(node, open2, null).statusCode(), open2 + " stays open");
            }
            KvNode.Run refused = KvNode.cli("scale", "--app", "kv", "--replicas", "3", "--node", node.url());
            assertEquals(2, refused.exit(), refused.out() + refused.err());
            assertTrue(refused.err().contains("needs the admin token"), refused.err());
            KvNode.Run scaled = KvNode.cli("scale", "--app", "kv", "--replicas", "3", "--node", node.url(),
                    "--admin-token-file", tokenFile.toString());
            assertEquals(0, scaled.exit(), scaled.out() + scaled.err());
            assertTrue(node.output.toString().contains("admin: /status, /ui data and the admin API need"), node.output.toString());
        }
        try (KvNode node = new KvNode(tmp.resolve("open")); Jedis open = node.kv()) {
            open.set("k", "v");
            HttpResponse<String> status = get(node, "/status", null);
            assertEquals(200, status.statusCode(), status.body());
            assertTrue(!externals(status).isEmpty() && externals(status).stream().allMatch(StatusReport.HIDDEN::equals),
                    "no client address for anyone: " + externals(status));
            assertTrue(node.output.toString().contains("admin: no admin token"), node.output.toString());
        }
    }

    private static java.util.List<String> externals(HttpResponse<String> status) {
        JsonArray mappings = new JsonObject(status.body()).getJsonObject("nat").getJsonArray("mappings");
        java.util.List<String> out = new java.util.ArrayList<>();
        for (int i = 0; i < mappings.size(); i++) {
            out.add(mappings.getJsonObject(i).getString("external"));
        }
        return out;
    }
}
