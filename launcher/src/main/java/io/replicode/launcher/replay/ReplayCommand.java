package io.replicode.launcher.replay;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code replicode replay}: offline tools over an app's recorded frames in a stopped node's data directory. */
@Command(name = "replay",
        description = {"Offline tools over an app's replay log: verify it, or dump its frames.",
                "verify re-executes it and compares with what the replicas recorded.",
                "Run them on a stopped node's data directory, or a copy of it: opening",
                "the log cuts a torn tail, as a restart does."},
        subcommands = {VerifyCommand.class, DumpCommand.class, CommandLine.HelpCommand.class})
public final class ReplayCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    /** Without a subcommand: the help. */
    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
