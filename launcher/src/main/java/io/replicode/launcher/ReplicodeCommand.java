package io.replicode.launcher;

import io.replicode.node.UserError;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The {@code replicode} command line: the entry point of {@code ./replicode}. */
@Command(name = "replicode",
        description = "Runs WebAssembly (WASI) servers deterministically.",
        subcommands = {RunCommand.class, NodeCommand.class, RestartCommand.class, UpgradeCommand.class, ScaleCommand.class, RemoveMemberCommand.class, io.replicode.launcher.replay.ReplayCommand.class,
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
        commonPoolOfAtLeastTwo();
        System.exit(commandLine().execute(args));
    }

    /** The system property that sizes the JDK's common fork-join pool. */
    static final String COMMON_POOL_PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";

    /**
     * Gives the JDK's common pool at least two threads, unless the user set its size. With fewer than two (the
     * default on a 2-CPU machine is CPUs - 1 = 1), {@code CompletableFuture}'s {@code *Async} methods without an
     * executor start a new thread for every task, and Ratis's follower appends use them: JFR counted about 200 thread
     * starts a second on each follower under a write load. Must run before anything loads {@code CompletableFuture}
     * (it reads the pool's size once). Where there are more CPUs the JDK's own default (CPUs - 1) is kept.
     */
    static void commonPoolOfAtLeastTwo() {
        if (System.getProperty(COMMON_POOL_PARALLELISM) == null) {
            int cpus = Runtime.getRuntime().availableProcessors();
            System.setProperty(COMMON_POOL_PARALLELISM, Integer.toString(Math.max(2, cpus - 1)));
        }
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
