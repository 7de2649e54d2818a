package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What redis-server does with a client that breaks the protocol, through the whole pipeline: the error, then the
 * connection really closed (a client that goes on writing is reset, as Redis's "protocol desync" tests expect), and an
 * inline request streamed without a newline cut off at 64 KiB (a slow-loris client cannot hold a connection forever).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KvProtocolLimitsTest {
    @TempDir
    Path tmp;

    private KvNode kv;

    @AfterEach
    void stop() {
        if (kv != null) {
            kv.close();
        }
    }

    private Socket connect() throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), kv.node.tcpEndpoints().get(0).port());
        s.setSoTimeout(20_000);
        return s;
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c = in.read(); c >= 0 && c != '\n'; c = in.read()) {
            b.append((char) c);
        }
        return b.toString();
    }

    /** Writes 1 KiB at a time until a write fails (bounded); returns whether one did. */
    private static boolean writesFail(OutputStream out) throws InterruptedException {
        byte[] junk = "x".repeat(1024).getBytes(StandardCharsets.US_ASCII);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            try {
                out.write(junk);
                out.flush();
            } catch (IOException closed) {
                return true;
            }
            Thread.sleep(20);
        }
        return false;
    }

    @Test
    void after_a_protocol_error_the_connection_is_closed_and_further_writes_fail() throws Exception {
        kv = new KvNode(tmp.resolve("data"));
        try (Socket s = connect()) {
            s.getOutputStream().write("*x\r\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals("-ERR Protocol error: invalid multibulk length\r", readLine(s.getInputStream()));
            assertTrue(writesFail(s.getOutputStream()), "the server closed the connection: a client writing on is reset");
        }
        try (Socket s = connect()) {
            s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals("+PONG\r", readLine(s.getInputStream()), "other clients are served");
        }
    }

    @Test
    void a_value_of_several_megabytes_is_set_and_read_back_through_the_pipeline() throws Exception {
        kv = new KvNode(tmp.resolve("data"));
        // Redis's own suite: "Very big payload in GET/SET" (4 MB); the frame path carries it in many frames.
        String big = "abcd".repeat(1_000_000) + "!".repeat(3 << 20);
        try (var jedis = kv.kv()) {
            assertEquals("OK", jedis.set("big", big));
            assertEquals(big, jedis.get("big"));
            assertEquals(big.length(), jedis.strlen("big"));
            assertEquals("67108864", jedis.configGet("proto-max-bulk-len").get("proto-max-bulk-len"));
        }
    }

    @Test
    void an_inline_request_without_a_newline_is_cut_off_at_64_kib() throws Exception {
        kv = new KvNode(tmp.resolve("data"));
        try (Socket s = connect()) {
            byte[] chunk = "a".repeat(8 * 1024).getBytes(StandardCharsets.US_ASCII);
            String reply = null;
            for (int i = 0; i < 12 && reply == null; i++) {
                try {
                    s.getOutputStream().write(chunk);
                } catch (IOException closed) {
                    break;
                }
                Thread.sleep(50);
                if (s.getInputStream().available() > 0) {
                    reply = readLine(s.getInputStream());
                }
            }
            if (reply == null) {
                reply = readLine(s.getInputStream());
            }
            assertEquals("-ERR Protocol error: too big inline request\r", reply);
        }
    }
}
