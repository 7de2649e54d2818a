package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.launcher.ReplicodeCommand;
import io.replicode.node.TestGuests;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code replicode run --log-format json} in its own JVM, as an operator's log shipper reads it: every line of its
 * output, from start to a SIGTERM stop, is one JSON object with {@code @timestamp}, {@code level}, {@code logger} and
 * {@code message}; lines about an app carry {@code app}, a guest's output carries {@code stream}; and the text format
 * has a timestamp and a level on every line.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class LogFormatTest {
    @TempDir
    Path data;

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Runs kv in its own JVM with {@code format}, stops it with SIGTERM once it serves, and returns every output line. */
    private List<String> runAndStop(String format) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:-DontCompileHugeMethods", "-cp", System.getProperty("java.class.path"), ReplicodeCommand.class.getName(),
                "run", "--log-format", format, "--data", data.resolve(format).toString(), "--app",
                "kv=" + TestGuests.module("kv_server"), "--tcp", freePort() + "=kv:resp", "--http", "kv",
                "--http-port", Integer.toString(freePort())));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            boolean stopped = false;
            boolean ready = false;
            boolean spoke = false;
            while ((line = out.readLine()) != null) {
                lines.add(line);
                ready |= line.contains("ready (Ctrl-C stops)");
                spoke |= line.contains("kv: listening on fd 3");
                // Stopped once it serves and the guest has spoken (its first frame ran), in whichever order they came.
                if (!stopped && ready && spoke) {
                    p.toHandle().destroy(); // SIGTERM (Process.destroy would also close our end of its output)
                    stopped = true;
                }
            }
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return lines;
    }

    @Test
    void json_lines_from_start_to_stop_and_text_lines_with_time_and_level() throws Exception {
        List<String> lines = runAndStop("json");
        assertTrue(lines.size() > 5, String.join("\n", lines));
        boolean app = false;
        boolean stream = false;
        boolean stopping = false;
        for (String line : lines) {
            JsonObject j;
            try {
                j = new JsonObject(line);
            } catch (RuntimeException e) {
                throw new AssertionError("not a JSON object: " + line + "\nall:\n" + String.join("\n", lines), e);
            }
            for (String field : new String[] {"@timestamp", "level", "logger", "message"}) {
                assertTrue(j.getString(field) != null && !j.getString(field).isEmpty(), field + " in " + line);
            }
            java.time.Instant.parse(j.getString("@timestamp"));
            app |= "kv".equals(j.getString("app")) && "replicode".equals(j.getString("logger"));
            stream |= "stderr".equals(j.getString("stream")) && j.getString("logger").equals("guest.kv.stderr")
                    && j.getString("message").startsWith("kv: listening on fd");
            stopping |= j.getString("message").equals("replicode: stopping");
        }
        assertTrue(app, "a line about kv carries app: " + String.join("\n", lines));
        assertTrue(stream, "the guest's stderr is its own stream: " + String.join("\n", lines));
        assertTrue(stopping, "the stop is logged: " + String.join("\n", lines));

        List<String> text = runAndStop("text");
        for (String line : text) {
            assertTrue(line.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z (TRACE|DEBUG|INFO |WARN |ERROR) \\[[^\\]]+\\] .*"),
                    "a timestamp and a level: " + line);
        }
        assertEquals(1, text.stream().filter(l -> l.endsWith("[replicode] ready (Ctrl-C stops)")).count(), String.join("\n", text));
    }
}
