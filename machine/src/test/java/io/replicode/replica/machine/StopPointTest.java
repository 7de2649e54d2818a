package io.replicode.replica.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.replica.module.Engine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An endless loop stops at the same instruction, and unbounded recursion at the same depth, in either
 * engine and whatever the JVM's default thread stack size: the stop points are part of the state digest.
 */
class StopPointTest {

    @Test
    void stop_points_are_identical_across_engines() {
        String compiler = StopPointMain.stopPoints(Engine.COMPILER);
        assertTrue(compiler.contains("fuel exhausted: more than 3000000 instructions"), compiler);
        assertTrue(compiler.contains("trap: call stack exhausted (depth limit 50000)"), compiler);
        assertEquals(compiler, StopPointMain.stopPoints(Engine.INTERPRETER));
    }

    @Test
    void stop_points_do_not_depend_on_xss() throws Exception {
        String expected = StopPointMain.stopPoints(Engine.COMPILER);
        for (String xss : List.of("-Xss256k", "-Xss16m")) {
            for (Engine engine : Engine.values()) {
                assertEquals(expected, runChild(xss, engine), xss + " " + engine);
            }
        }
    }

    private static String runChild(String xss, Engine engine) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add(xss);
        cmd.add("-XX:-DontCompileHugeMethods");
        cmd.add("-Dreplicode.wasm.dir=" + Guests.wasm("echo_server").getParent().toAbsolutePath());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(StopPointMain.class.getName());
        cmd.add(engine.name());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish");
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), text);
        return text;
    }
}
