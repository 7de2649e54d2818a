package io.replicode.launcher;

import io.replicode.node.UserError;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

/**
 * {@code replicode jvm-heap run|node ARGS...}: for {@code ./replicode}, prints the -Xmx that the apps of
 * {@code replicode run|node ARGS...} ask for (see {@link ProcessLimits#heap}), and nothing else. Any other command, a
 * help request or a mistake in the arguments prints nothing and exits 0: the real command reports the mistake.
 */
@Command(name = "jvm-heap", hidden = true,
        description = "Prints the -Xmx the apps of 'replicode run|node ARGS...' ask for (used by ./replicode).")
final class JvmHeapCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Unmatched
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() {
        String xmx = xmx(command);
        if (xmx != null) {
            spec.commandLine().getOut().println(xmx);
            spec.commandLine().getOut().flush();
        }
        return 0;
    }

    /** The -Xmx for {@code args} (a run or node command line), or null when there is none to compute. */
    static String xmx(List<String> args) {
        if (args.isEmpty() || !(args.get(0).equals("run") || args.get(0).equals("node"))) {
            return null;
        }
        try {
            CommandLine.ParseResult parsed = ReplicodeCommand.commandLine().parseArgs(args.toArray(String[]::new));
            if (!parsed.hasSubcommand() || parsed.subcommand().isUsageHelpRequested()) {
                return null;
            }
            Object command = parsed.subcommand().commandSpec().userObject();
            var node = command instanceof RunCommand run ? run.nodeConfig()
                    : command instanceof NodeCommand member ? member.nodeConfig() : null;
            return node == null ? null : ProcessLimits.heap(node).xmx();
        } catch (CommandLine.ParameterException | UserError e) {
            return null;
        }
    }
}
