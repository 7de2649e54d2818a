package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.replicode.node.config.Operations;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * The TCP event-bus bridge from a service that is not Java: the Python client in {@code examples/eventbus-client/python}
 * (standard library only) writes and reads kv with inline RESP commands, reads what a RESP client wrote, and is refused
 * an internal address ({@code replicode.app.kv.ingress}).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class EventBusBridgeTest {
    @TempDir
    Path tmp;

    private static final Path CLIENT = Path.of("..", "examples", "eventbus-client", "python", "replicode_bridge.py");

    private static KvNode.Run python(int port, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("python3", CLIENT.toString(), "--port", Integer.toString(port)));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new KvNode.Run(p.exitValue(), out, err);
    }

    @Test
    void a_python_client_uses_kv_through_the_bridge_and_is_refused_internal_addresses() throws Exception {
        assumeTrue(new ProcessBuilder("sh", "-c", "command -v python3").start().waitFor() == 0, "needs python3");
        assertTrue(Files.isRegularFile(CLIENT), CLIENT.toAbsolutePath().toString());
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        try (KvNode node = new KvNode(tmp.resolve("data"), 3, Operations.NONE.withEventBusBridge(port))) {
            assertTrue(node.output.toString().contains("kv: event-bus bridge 127.0.0.1:" + port), node.output.toString());
            // kv's RESP listener (its first) takes inline commands, as redis-server does.
            KvNode.Run set = python(port, "kv", "SET bridged frompython");
            assertEquals(0, set.exit(), set.out() + set.err());
            assertEquals("+OK\r\n", set.out());
            KvNode.Run get = python(port, "kv", "GET bridged", "--listener", "resp");
            assertEquals("$10\r\nfrompython\r\n", get.out(), get.err());
            try (Jedis j = node.kv()) {
                assertEquals("frompython", j.get("bridged"));
                j.set("resp", "written over RESP");
            }
            assertEquals("$17\r\nwritten over RESP\r\n", python(port, "kv", "GET resp").out());
            KvNode.Run refused = python(port, "kv", "anything", "--address", "replicode.app.kv.ingress");
            assertEquals(1, refused.exit(), refused.out());
            assertTrue(refused.err().contains("access_denied"), refused.err());
            KvNode.Run noListener = python(port, "kv", "GET x", "--listener", "nosuch");
            assertEquals(1, noListener.exit());
            assertTrue(noListener.err().contains("has no listener 'nosuch'"), noListener.err());
        }
    }
}
