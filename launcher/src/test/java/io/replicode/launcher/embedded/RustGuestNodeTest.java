package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.replicode.node.EmbeddedNode;
import io.replicode.node.TestGuests;
import io.replicode.node.config.ConfigLoader;
import io.replicode.node.config.NodeConfig;
import io.replicode.replica.module.Engine;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Rust guest ({@code wasm-programs/src/rust/lines.rs}) on a real embedded node, configured as
 * {@code replicode run --app lines=wasm-programs/wasm/rust_lines.wasm --tcp 0=lines} configures it (gateway, sequencer,
 * fsynced log, three replicas): its line protocol over real client sockets, the replicas agree, and the log replays
 * to the digests they recorded.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RustGuestNodeTest {
    private static final int READ_TIMEOUT_MS = 15_000;

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

    /** The node {@code run} would start from these flags (no config file: only the app given with --app). */
    private void start() {
        NodeConfig config = ConfigLoader.load(new ConfigLoader.Flags(tmp.resolve("no-config.json"), false, "127.0.0.1",
                Engine.COMPILER, tmp.resolve("data"), List.of("lines=" + TestGuests.module("rust_lines")), List.of("0=lines"),
                List.of(), 3, 0));
        node = EmbeddedNode.start(config, new PrintWriter(output, true));
    }

    private Socket connect() throws IOException {
        int port = node.tcpEndpoints().stream().filter(e -> e.app().equals("lines")).findFirst().orElseThrow().port();
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(READ_TIMEOUT_MS);
        return s;
    }

    private static void write(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
    }

    /** Sends one command line and reads its one reply line (without the {@code \n}). */
    private static String call(Socket s, String line) throws IOException {
        write(s, line + "\n");
        return readLine(s.getInputStream());
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = in.read(); b != '\n'; b = in.read()) {
            if (b < 0) {
                fail("connection ended before a whole line: " + line);
            }
            line.write(b);
        }
        return line.toString(StandardCharsets.US_ASCII);
    }

    /** Sends {@code input}, half-closes, and reads everything up to the server's close. */
    private String session(String input) throws IOException {
        try (Socket s = connect()) {
            write(s, input);
            s.shutdownOutput();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    /** Waits (bounded) until the node printed {@code needle}. */
    private void awaitOutput(String needle) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!output.toString().contains(needle)) {
            if (System.nanoTime() > deadline) {
                fail("the node never printed '" + needle + "'; it printed:\n" + output);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void clients_over_tcp_share_one_store_the_replicas_agree_and_the_log_replays() throws Exception {
        start();
        assertTrue(output.toString().contains("lines: module " + TestGuests.module("rust_lines") + " (compiler, asyncify)"),
                output.toString());

        assertEquals("PONG\nOK\nOK\nVALUE one two\nNIL\n2\n", session("PING\nSET b 2\nSET a one two\nGET a\nGET zz\nCOUNT\n"));
        try (Socket talker = connect(); Socket waiter = connect()) {
            assertEquals("VALUE 2", call(talker, "GET b"));
            // The guest serves one client at a time: the waiter is accepted when the talker leaves.
            write(waiter, "COUNT\nKEYS\n");
            waiter.shutdownOutput();
            assertEquals("DELETED", call(talker, "DEL b"));
            assertEquals("NIL", call(talker, "del b"));
            assertEquals("ERR unknown command 'FOO'", call(talker, "FOO bar"));
            assertEquals("ERR wrong number of arguments for 'GET'", call(talker, "GET"));
            assertEquals("OK", call(talker, "SET c 3"));
            assertEquals("BYE", call(talker, "QUIT"));
            assertEquals(-1, talker.getInputStream().read(), "the guest closes after BYE");
            assertEquals("2\nKEYS a c\n", new String(waiter.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
        }
        assertEquals("ERR line too long (more than 4096 bytes)\n", session("x".repeat(5000) + "\n"));
        assertEquals("VALUE one two\n", session("GET a"), "a last line without \\n is answered at the half-close");

        String agreed = NodeProbe.awaitReplicasAgree(node, "lines", 3);
        awaitOutput("[lines stderr] lines: listening on fd 3");
        node.close();
        node = null;

NodeProbe.replayVerifies(tmp.resolve("data"), "lines",
                "replaying the log gives the digests the replicas recorded (they agreed on " + agreed + ")");
    }
}
