package io.replicode.launcher;

import java.io.PrintWriter;
import java.io.Writer;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The command line's logs: Logback behind SLF4J, with a timestamp and a level on every line, as text or, with
 * {@code --log-format json} (or {@code REPLICODE_LOG_FORMAT=json}), one JSON object per line ({@link JsonLayout}).
 * Vert.x, Netty, Hazelcast, Ratis and anything on java.util.logging log through the same SLF4J.
 *
 * <p>The nodes write what they say to a {@link PrintWriter} (tests read it back); {@link #writer} turns each of its
 * lines into a log event: a guest's output ({@code [kv stderr] ...}, from {@code GuestLog}) goes to logger
 * {@code guest.kv.stderr} with the fields {@code app} and {@code stream}; any other line to logger {@code replicode},
 * with {@code app} when it is about one ({@code kv: ...}, {@code app 'kv' ...}), at WARN when it reports a problem (a
 * {@code Fix:} hint, a divergence, an error) and INFO otherwise.
 */
final class Logs {
    /** System property Logback's configuration reads to pick the appender: {@code text} or {@code json}. */
    static final String FORMAT_PROPERTY = "replicode.log.format";
    static final String FORMAT_VARIABLE = "REPLICODE_LOG_FORMAT";

    private static volatile boolean active;

    private Logs() {}

    /**
     * Before anything logs (first thing in {@code main}): the format from {@code --log-format} in {@code args} or the
     * environment, and every other logging API routed to SLF4J. An unknown format is left to the option's check.
     */
    static void setUp(String[] args, Map<String, String> env) {
        String format = env.getOrDefault(FORMAT_VARIABLE, "text");
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--log-format") && i + 1 < args.length) {
                format = args[i + 1];
            } else if (args[i].startsWith("--log-format=")) {
                format = args[i].substring("--log-format=".length());
            }
        }
        System.setProperty(FORMAT_PROPERTY, "json".equalsIgnoreCase(format.strip()) ? "json" : "text");
        setIfAbsent("vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.SLF4JLogDelegateFactory");
        setIfAbsent("hazelcast.logging.type", "slf4j");
        org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
        org.slf4j.bridge.SLF4JBridgeHandler.install();
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.INFO);
        active = true;
    }

    private static void setIfAbsent(String property, String value) {
        if (System.getProperty(property) == null) {
            System.setProperty(property, value);
        }
    }

    /**
     * Where a command prints what a running node says: log events when {@link #setUp} ran (the real command line),
     * else {@code fallback} (a test's writer). {@code apps} are the names lines may be about.
     */
    static PrintWriter writer(PrintWriter fallback, Set<String> apps) {
        return active ? new PrintWriter(new Lines(apps), true) : fallback;
    }

    /** Splits what is written into lines and logs each. */
    static final class Lines extends Writer {
        private static final Logger NODE = LoggerFactory.getLogger("replicode");
        private static final Pattern GUEST = Pattern.compile("\\[([^\\] ]+) (stdout|stderr)\\] (.*)", Pattern.DOTALL);
        private static final Pattern ABOUT = Pattern.compile("(?:replicode: )?([A-Za-z0-9_.-]+): .*|.*\\bapp '([^']+)'.*",
                Pattern.DOTALL);
        private final Set<String> apps;
        private final StringBuilder line = new StringBuilder();

        Lines(Set<String> apps) {
            this.apps = Set.copyOf(apps);
        }

        @Override
        public synchronized void write(char[] buf, int off, int len) {
            for (int i = off; i < off + len; i++) {
                char c = buf[i];
                if (c == '\n') {
                    emit(line.toString());
                    line.setLength(0);
                } else if (c != '\r') {
                    line.append(c);
                }
            }
        }

        @Override
        public void flush() {
            // Lines are logged whole, when they end.
        }

        @Override
        public synchronized void close() {
            if (line.length() > 0) {
                emit(line.toString());
                line.setLength(0);
            }
        }

        void emit(String text) {
            Matcher g = GUEST.matcher(text);
            if (g.matches()) {
                try (var a = MDC.putCloseable("app", g.group(1)); var s = MDC.putCloseable("stream", g.group(2))) {
                    LoggerFactory.getLogger("guest." + g.group(1) + "." + g.group(2)).info(g.group(3));
                }
                return;
            }
            String app = null;
            Matcher m = ABOUT.matcher(text);
            if (m.matches()) {
                String named = m.group(1) != null ? m.group(1) : m.group(2);
                app = apps.contains(named) ? named : null;
            }
            boolean problem = text.contains("Fix:") || text.contains("DIVERGENCE") || text.startsWith("error:")
                    || text.contains(" failed") || text.contains("could not");
            if (app != null) {
                MDC.put("app", app);
            }
            try {
                if (problem) {
                    NODE.warn(text);
                } else {
                    NODE.info(text);
                }
            } finally {
                MDC.remove("app");
            }
        }
    }
}
