package io.replicode.launcher;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The {@code replicode} command line: the entry point of {@code ./replicode}. */
@Command(name = "replicode",
        description = "Runs WebAssembly (WASI) servers deterministically.",
        subcommands = {RunCommand.class, NodeCommand.class, RestartCommand.class, RemoveMemberCommand.class, io.replicode.launcher.replay.ReplayCommand.class,
                CommandLine.HelpCommand.class, JvmHeapCommand.class},
        footer = {"", "Start with: ./replicode run   then: printf 'hello\\n' | nc -q1 127.0.0.1 7007"})
public final class ReplicodeCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    /** Without a subcommand: the help. */
    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line with Replicode's error handling: user errors print "error:" and "Fix:" and exit 2. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new ReplicodeCommand());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setParameterExceptionHandler((e, args) -> {
            CommandLine failed = e.getCommandLine();
            failed.getErr().println("error: " + e.getMessage());
            failed.getErr().println("Fix: see '" + failed.getCommandSpec().qualifiedName() + " --help'");
            failed.getErr().flush();
            return UserError.EXIT_CODE;
        });
        cl.setExecutionExceptionHandler((e, failed, parseResult) -> {
            if (e instanceof UserError u) {
                failed.getErr().println(u.render());
                failed.getErr().flush();
                return UserError.EXIT_CODE;
            }
            throw e;
        });
        return cl;
    }
}
