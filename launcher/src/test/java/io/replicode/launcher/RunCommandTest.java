package io.replicode.launcher;

import io.replicode.node.TestGuests;
import io.replicode.node.UserError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as a user meets it: exit codes and what is printed. Only failing runs: a good one serves forever. */
class RunCommandTest {
    @TempDir
    Path tmp;

    private record Result(int exit, String out, String err) {
        void assertUserError(String... whatContains) {
            assertEquals(UserError.EXIT_CODE, exit, err);
            assertTrue(err.startsWith("error: "), err);
            assertTrue(err.contains("\nFix: ") || err.contains(System.lineSeparator() + "Fix: "), err);
            for (String s : whatContains) {
                assertTrue(err.contains(s), "expected '" + s + "' in: " + err);
            }
            assertFalse(err.contains("Exception") || err.contains("\tat "), "no stack trace for user errors: " + err);
        }
    }

    private static Result replicode(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = ReplicodeCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    private String data() {
        return tmp.resolve("data").toString();
    }

    @Test
    void no_arguments_print_the_help() {
        Result r = replicode();
        assertEquals(0, r.exit);
        assertTrue(r.out.contains("Usage: replicode") && r.out.contains("run"), r.out);
    }

    @Test
    void run_help_lists_the_flags() {
        Result r = replicode("run", "--help");
        assertEquals(0, r.exit);
        for (String flag : new String[] {"--config", "--data", "--app", "--tcp", "--engine", "--host"}) {
            assertTrue(r.out.contains(flag), flag + " in " + r.out);
        }
    }

    @Test
    void missing_module_file_exits_2_with_a_fix() {
        replicode("run", "--data", data(), "--app", "x=nowhere/x.wasm", "--tcp", "0=x")
                .assertUserError("nowhere/x.wasm", "does not exist", "Fix: check the path given with --app");
    }

    @Test
    void malformed_tcp_exits_2_with_a_fix() {
        replicode("run", "--data", data(), "--app", "echo=" + TestGuests.module("echo_server"), "--tcp", "echo")
                .assertUserError("--tcp 'echo' is not PORT=APP[:LISTENER]", "Fix: write e.g. --tcp 7007=echo");
    }

    @Test
    void unknown_app_in_tcp_exits_2_with_a_fix() {
        replicode("run", "--data", data(), "--app", "echo=" + TestGuests.module("echo_server"), "--tcp", "7007=kv")
                .assertUserError("names app 'kv', which is not defined", "Fix: define it with --app kv=PATH.wasm");
    }

    @Test
    void unknown_engine_exits_2_with_a_fix() {
        replicode("run", "--engine", "jit").assertUserError("--engine", "Fix: see 'replicode run --help'");
    }

    @Test
    void rejected_module_exits_2_with_the_module_fix() throws IOException {
        Path bogus = tmp.resolve("bogus.wasm");
        Files.write(bogus, new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0, 42, 42, 42});
        replicode("run", "--data", data(), "--app", "bogus=" + bogus, "--tcp", "0=bogus")
                .assertUserError("app 'bogus'", "bogus.wasm");
    }

    @Test
    void port_in_use_exits_2_with_a_fix() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            Result r = replicode("run", "--data", data(), "--app", "echo=" + TestGuests.module("echo_server"),
                    "--tcp", port + "=echo");
            r.assertUserError("cannot listen on tcp 127.0.0.1:" + port + " for app 'echo' listener 'main': the port is in use",
                    "Fix: stop the program using it");
        }
    }
}
