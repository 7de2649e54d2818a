package io.replicode.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.replicode.node.UserError;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class AdminClientTest {
    @Test
    void a_node_that_does_not_answer_and_a_node_that_is_not_a_url_are_user_errors_with_a_fix() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        AdminClient down = new AdminClient("http://127.0.0.1:" + port + "/");
        assertEquals("http://127.0.0.1:" + port, down.base());
        UserError e = assertThrows(UserError.class, () -> down.get("/status", Duration.ofSeconds(5)));
        assertTrue(e.what().startsWith("cannot reach the node at http://127.0.0.1:" + port), e.what());
        assertTrue(e.fix().contains("--node"), e.fix());

        UserError notUrl = assertThrows(UserError.class, () -> new AdminClient("127.0.0.1:8080"));
        assertEquals("--node 127.0.0.1:8080 is not a URL", notUrl.what());
    }

    @Test
    void a_refusal_carries_the_nodes_error_and_fix_and_plain_text_is_read_as_the_error() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/json", x -> reply(x, 409, "{\"error\":\"no such app\",\"fix\":\"name one in /status\"}"));
        server.createContext("/text", x -> reply(x, 500, "boom\n"));
        server.start();
        try {
            AdminClient admin = new AdminClient("http://127.0.0.1:" + server.getAddress().getPort());
            AdminClient.Answer json = admin.post("/json", Duration.ofSeconds(5));
            assertEquals(409, json.status());
            UserError refused = json.refused("restart refused", "check the log");
            assertEquals("restart refused (HTTP 409): no such app", refused.what());
            assertEquals("name one in /status", refused.fix());
            UserError text = admin.get("/text", Duration.ofSeconds(5)).refused("removal refused", "check the log");
            assertEquals("removal refused (HTTP 500): boom", text.what());
            assertEquals("check the log", text.fix());
        } finally {
            server.stop(0);
        }
    }

    private static void reply(com.sun.net.httpserver.HttpExchange x, int status, String body) throws java.io.IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        x.sendResponseHeaders(status, b.length);
        x.getResponseBody().write(b);
        x.close();
    }
}
