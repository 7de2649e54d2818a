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
        versionProvider = ReplicodeCommand.Version.class,
        footer = {"", "Start with: ./replicode run   then: redis-cli -p 6380 SET hello world;  curl localhost:8080/kv/hello;",
                "  printf 'GET hello\\n' | nc -q1 127.0.0.1 7000;  curl localhost:8080/status",
                "Every option can also come from the environment: --http-port as REPLICODE_HTTP_PORT, and so on."})
public final class ReplicodeCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @CommandLine.Option(names = {"-V", "--version"}, versionHelp = true, description = "Print the version and exit.")
    boolean version;

    /** The version of the jar (its Maven descriptor), and the Java that runs it. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = "unknown";
            try (var in = ReplicodeCommand.class.getResourceAsStream("/META-INF/maven/io.replicode/launcher/pom.properties")) {
                if (in != null) {
                    java.util.Properties p = new java.util.Properties();
                    p.load(in);
                    v = p.getProperty("version", v);
                }
            } catch (java.io.IOException e) {
                // the version stays unknown
            }
            return new String[] {"replicode " + v, "java " + System.getProperty("java.version") + " ("
                    + System.getProperty("java.vm.name") + ")"};
        }
    }

    /**
     * Defaults from the environment, as containers and service managers give them: option {@code --http-port} takes
     * {@code REPLICODE_HTTP_PORT} when the command line does not give it (then the option's own default holds).
     */
    static final class EnvironmentDefaults implements CommandLine.IDefaultValueProvider {
        private final java.util.Map<String, String> env;

        EnvironmentDefaults(java.util.Map<String, String> env) {
            this.env = env;
        }

        /** The variable an option reads: {@code --cluster-members} is {@code REPLICODE_CLUSTER_MEMBERS}. */
        static String variable(CommandLine.Model.OptionSpec option) {
            return "REPLICODE_" + option.longestName().replaceFirst("^-+", "").toUpperCase(java.util.Locale.ROOT).replace('-', '_');
        }

        @Override
        public String defaultValue(CommandLine.Model.ArgSpec arg) {
            if (arg instanceof CommandLine.Model.OptionSpec o && !o.usageHelp() && !o.versionHelp()
                    && o.longestName().startsWith("--")) {
                return env.get(variable(o));
            }
            return null;
        }
    }

    /** Without a subcommand: the help. */
    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        Logs.setUp(args, System.getenv());
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
        return commandLine(System.getenv());
    }

    /** The command line, with option defaults from {@code env} ({@link EnvironmentDefaults}). */
    static CommandLine commandLine(java.util.Map<String, String> env) {
        CommandLine cl = new CommandLine(new ReplicodeCommand());
        cl.setDefaultValueProvider(new EnvironmentDefaults(env));
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
