package io.replicode.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.cluster.ClusterSettings;
import io.replicode.node.config.ConfigLoader;
import io.replicode.node.config.NodeConfig;
import io.replicode.node.ClusterNode;
import io.replicode.replica.module.Engine;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One real Replicode cluster member (gateway, sequencer and replica of the kv app, {@link ClusterNode}) in this JVM,
 * and the example client joining it as a Hazelcast lite member: requests through replicode.app.kv.request.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EventBusClientTest {
    /** The kv guest, relative to this module's directory (Surefire's working directory). */
    static final Path KV_MODULE = Path.of("../../wasm-programs/wasm/kv_server.wasm");
    static final String HOST = "127.0.0.1";
    private static final Logger HAZELCAST_LOG = Logger.getLogger("com.hazelcast");

    @TempDir
    static Path dir;
    static ClusterNode member;
    static String memberAddress;
    static Vertx client;

    @BeforeAll
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    static void start() throws Exception {
        HAZELCAST_LOG.setLevel(Level.WARNING);
        assertTrue(Files.isRegularFile(KV_MODULE), KV_MODULE.toAbsolutePath() + " is missing (built by wasm-programs/Makefile)");
        int clusterPort = freePort(-1);
        memberAddress = HOST + ":" + clusterPort;
        // As `replicode node --cluster --cluster-port P --cluster-members 127.0.0.1:P --app kv=... --tcp 0=kv:resp
        // --tcp 0=kv:line --http kv --http-port 0 --replicas 1 --data DIR`, without a config file.
        Path data = Files.createDirectories(dir.resolve("member"));
        NodeConfig node = ConfigLoader.load(new ConfigLoader.Flags(dir.resolve("no-config.json"), false, HOST, Engine.COMPILER,
                data, List.of("kv=" + KV_MODULE.toAbsolutePath().normalize()), List.of("0=kv:resp", "0=kv:line"),
                List.of("kv"), 1, 0));
        ClusterSettings settings = ClusterSettings.of(HOST, clusterPort, List.of(memberAddress));
        member = ClusterNode.start(node, new ClusterNode.Options(Set.of("gateway", "sequencer", "replica"), settings),
                new PrintWriter(System.out, true));
        client = await(EventBusClient.join(HOST, freePort(clusterPort), List.of(memberAddress)));
    }

    @AfterAll
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    static void stop() throws Exception {
        try {
            if (client != null) {
                await(client.close());
            }
        } finally {
            if (member != null) {
                member.close();
            }
        }
    }

    @Test
    void set_then_get_over_resp() throws Exception {
        Buffer set = await(EventBusClient.request(client, "kv", EventBusClient.resp("SET", "k", "v")));
        assertEquals("+OK\r\n", set.toString(StandardCharsets.UTF_8));
        Buffer get = await(EventBusClient.request(client, "kv", EventBusClient.resp("GET", "k")));
        assertEquals("$1\r\nv\r\n", get.toString(StandardCharsets.UTF_8));
        assertEquals("\"v\"\n", EventBusClient.formatResp(get));
    }

    @Test
    void pipelined_commands_come_back_in_one_reply() throws Exception {
        Buffer body = Buffer.buffer().appendBuffer(EventBusClient.resp("SET", "counter", "1"))
                .appendBuffer(EventBusClient.resp("INCR", "counter"))
                .appendBuffer(EventBusClient.resp("GET", "counter"))
                .appendBuffer(EventBusClient.resp("GET", "never-set"));
        Buffer reply = await(EventBusClient.request(client, "kv", body));
        assertEquals("+OK\r\n:2\r\n$1\r\n2\r\n$-1\r\n", reply.toString(StandardCharsets.UTF_8));
    }

    @Test
    void line_protocol_on_the_line_listener() throws Exception {
        Buffer reply = await(EventBusClient.request(client, "kv", "line",
                Buffer.buffer("SET greeting hello world\nGET greeting\nGET nothing\n"), 30_000));
        assertEquals("OK\nVALUE hello world\nERR: Key not found\n", reply.toString(StandardCharsets.UTF_8));
        // One keyspace behind every listener.
        Buffer viaResp = await(EventBusClient.request(client, "kv", EventBusClient.resp("GET", "greeting")));
        assertEquals("$11\r\nhello world\r\n", viaResp.toString(StandardCharsets.UTF_8));
    }

    @Test
    void http_bytes_on_the_http_listener() throws Exception {
        await(EventBusClient.request(client, "kv", EventBusClient.resp("SET", "page", "hi")));
        Buffer reply = await(EventBusClient.request(client, "kv", "http",
                Buffer.buffer("GET /page HTTP/1.1\r\nHost: kv\r\n\r\n"), 30_000));
        String text = reply.toString(StandardCharsets.UTF_8);
        assertTrue(text.startsWith("HTTP/1.1 200 OK\r\n"), text);
        assertTrue(text.endsWith("\r\n\r\nhi"), text);
    }

    @Test
    void unknown_app_is_a_clear_error() {
        ReplicodeRequestException e = failure(EventBusClient.request(client, "nope", EventBusClient.resp("PING")));
        assertEquals(ReplicodeRequestException.Kind.NO_GATEWAY, e.kind());
        assertEquals("nope", e.app());
        assertTrue(e.getMessage().contains("no gateway in the cluster serves app 'nope'"), e.getMessage());
        assertTrue(e.getMessage().contains("replicode.app.nope.request"), e.getMessage());
    }

    @Test
    void unknown_listener_is_the_gateways_404() {
        ReplicodeRequestException e = failure(EventBusClient.request(client, "kv", "nope", EventBusClient.resp("PING"), 30_000));
        assertEquals(ReplicodeRequestException.Kind.GATEWAY_FAILED, e.kind());
        assertEquals(EventBusClient.NO_SUCH_LISTENER, e.code());
        assertTrue(e.getMessage().contains("has no listener 'nope'"), e.getMessage());
    }

    @Test
    void command_line_joins_sends_prints_and_leaves() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = EventBusClient.run(new String[] {"--members", memberAddress, "--host", HOST, "--port",
                String.valueOf(freePort(-1)), "--app", "kv", "set", "cli", "hello there", ";", "get", "cli", ";", "get", "none"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(EventBusClient.OK, code, err.toString(StandardCharsets.UTF_8));
        assertEquals("OK\n\"hello there\"\n(nil)\n", out.toString(StandardCharsets.UTF_8));
        // The client's lite member left again: only the Replicode member and the test's client remain.
        Buffer check = await(EventBusClient.request(client, "kv", EventBusClient.resp("GET", "cli")));
        assertEquals("$11\r\nhello there\r\n", check.toString(StandardCharsets.UTF_8));
    }

    @Test
    void command_line_usage_errors_do_not_join() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = EventBusClient.run(new String[] {"get", "k"}, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(EventBusClient.USAGE, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--members is required"), err.toString(StandardCharsets.UTF_8));
    }

    private static ReplicodeRequestException failure(Future<Buffer> reply) {
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> reply.toCompletionStage().toCompletableFuture().get(40, TimeUnit.SECONDS));
        return assertInstanceOf(ReplicodeRequestException.class, e.getCause());
    }

    static <T> T await(Future<T> f) throws Exception {
        try {
            return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception c ? c : e;
        }
    }

    /** A port in 5900..5999 that nothing listens on (wildcard or loopback), other than {@code not}. */
    static int freePort(int not) throws IOException {
        int start = ThreadLocalRandom.current().nextInt(100);
        for (int i = 0; i < 100; i++) {
            int port = 5900 + (start + i) % 100;
            if (port == not) {
                continue;
            }
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new InetSocketAddress(port));
                return port;
            } catch (IOException busy) {
                // try the next one
            }
        }
        throw new IOException("no free port in 5900..5999");
    }
}
