package io.replicode.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The command line as the ecosystem expects it: options from the environment, {@code --version}, a help that works. */
class CommandLineTest {
    @Test
    void every_option_can_come_from_the_environment_and_the_command_line_wins() {
        Map<String, String> env = Map.of("REPLICODE_HTTP_PORT", "9999", "REPLICODE_REPLICAS", "5",
                "REPLICODE_CLUSTER_MEMBERS", "127.0.0.1:5701,127.0.0.1:5702");
        CommandLine cl = ReplicodeCommand.commandLine(env);
        CommandLine.ParseResult parsed = cl.parseArgs("run", "--replicas", "2");
        RunCommand run = (RunCommand) parsed.subcommand().commandSpec().userObject();
        assertEquals(9999, run.httpPort);
        assertEquals(2, run.replicas, "a flag given on the command line wins over the environment");
        NodeCommand node = (NodeCommand) ReplicodeCommand.commandLine(env).parseArgs("node", "--cluster").subcommand()
                .commandSpec().userObject();
        assertEquals("127.0.0.1:5701,127.0.0.1:5702", node.clusterMembers);
        RunCommand plain = (RunCommand) ReplicodeCommand.commandLine(Map.of()).parseArgs("run").subcommand().commandSpec()
                .userObject();
        assertEquals(null, plain.httpPort, "without the variable the option's own default holds");
    }

    @Test
    void version_and_help_say_what_is_true() {
        StringWriter out = new StringWriter();
        CommandLine cl = ReplicodeCommand.commandLine(Map.of());
        cl.setOut(new PrintWriter(out, true));
        assertEquals(0, cl.execute("--version"));
        assertTrue(out.toString().startsWith("replicode "), out.toString());
        assertTrue(out.toString().contains("java " + System.getProperty("java.version")), out.toString());
        StringWriter help = new StringWriter();
        cl.setOut(new PrintWriter(help, true));
        assertEquals(0, cl.execute("--help"));
        assertTrue(help.toString().contains("redis-cli -p 6380") && help.toString().contains("nc -q1 127.0.0.1 7000"),
                help.toString());
        assertFalse(help.toString().contains("7007"), "nothing listens on 7007 by default: " + help);
        assertTrue(help.toString().contains("REPLICODE_HTTP_PORT"), help.toString());
    }
}
