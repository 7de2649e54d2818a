package io.replicode.node.config;

import io.replicode.node.UserError;
import io.replicode.replay.ReplayLog;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.module.Engine;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads the config file ({@code conf/replicode.json}) and merges the {@code run} flags into a
 * {@link NodeConfig}. Every mistake becomes a {@link UserError} that names the file, key or flag.
 *
 * <p>Merge rules: {@code --app NAME=PATH} chooses which apps run (a config app of the same name keeps its
 * listeners, ports and limits, with the module replaced); without {@code --app}, every config app runs.
 * {@code --tcp} flags for an app replace that app's configured ports. An app's listeners are its configured
 * ones, then the other listener names its ports mention, in order; a port that names no listener takes the
 * app's first, {@code main} if none is named before it.
 * Relative paths are taken from the current directory.
 */
public final class ConfigLoader {
    public static final Path DEFAULT_CONFIG = Path.of("conf", "replicode.json");
    static final Pattern APP_NAME = Pattern.compile("[a-z][a-z0-9_-]{0,31}");
    static final Pattern LISTENER_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,32}");
    static final String DEFAULT_LISTENER = "main";
    static final int DEFAULT_MAX_CONNECTIONS = 1024;
    /** The guest environment variable that tells the guest the app's maxConnections. */
    public static final String MAX_CONNECTIONS_ENV = "REPLICODE_MAX_CONNECTIONS";
    private static final String APP_EXAMPLE = "--app echo=wasm-programs/wasm/echo_server.wasm";
    private static final String TCP_EXAMPLE = "--tcp 7007=echo or --tcp 7007=echo:main";

    /**
     * The flags of {@code replicode run} that shape the node.
     *
     * @param config      the config file
     * @param configGiven whether the user named it (a missing default file is not an error)
     * @param apps        {@code --app} values, NAME=PATH
     * @param tcp         {@code --tcp} values, PORT=APP[:LISTENER]
     */
    public record Flags(Path config, boolean configGiven, String host, Engine engine, Path dataDir, List<String> apps,
                        List<String> tcp, List<String> http, Integer replicas, Integer httpPort) {
        public Flags {
            apps = List.copyOf(apps);
            tcp = List.copyOf(tcp);
            http = List.copyOf(http);
        }

        /** Flags without --http and --replicas. */
        public Flags(Path config, boolean configGiven, String host, Engine engine, Path dataDir, List<String> apps,
                     List<String> tcp) {
            this(config, configGiven, host, engine, dataDir, apps, tcp, List.of(), null, null);
        }
    }

    private ConfigLoader() {}

    /** The node to start, or a {@link UserError}. */
    public static NodeConfig load(Flags flags) {
        return load(flags, Path.of(""));
    }

    /** As {@link #load(Flags)}, with relative paths taken from {@code workDir}. */
    static NodeConfig load(Flags flags, Path workDir) {
        FileConfig file = readFile(workDir, flags.config(), flags.configGiven());
        Map<String, AppDraft> apps = chooseApps(file.apps(), flags.apps());
        applyTcpFlags(apps, flags.tcp());
        applyHttpFlags(apps, flags.http());
        if (apps.isEmpty()) {
            throw new UserError("no app to run: " + (Files.exists(workDir.resolve(flags.config()))
                    ? flags.config() + " defines none"
                    : "there is no " + flags.config() + " in " + workDir.toAbsolutePath()) + " and no --app was given",
                    "run from the Replicode directory, or name an app: " + APP_EXAMPLE + " --tcp 7007=echo");
        }
        List<AppConfig> resolved = new ArrayList<>();
        Map<Integer, String> portOwners = new HashMap<>();
        for (AppDraft d : apps.values()) {
            resolved.add(resolve(workDir, d, portOwners));
        }
        int replicas = flags.replicas() != null ? flags.replicas() : file.node().replicas();
        if (replicas < 1 || replicas > 16) {
            throw new UserError("--replicas " + replicas + " is outside 1..16", "run between 1 and 16 replicas per app");
        }
        NodeSettings n = file.node();
        int httpPort = flags.httpPort() != null ? flags.httpPort() : n.httpPort();
        if (httpPort < 0 || httpPort > 65535) {
            throw new UserError("--http-port " + httpPort + " is not a port number", "use 0..65535 (0 picks a free port)");
        }
        return new NodeConfig(flags.host(), flags.engine(), flags.dataDir(), file.batching(), resolved, httpPort,
                replicas, n.fsync(), n.snapshotEveryFrames());
    }

    /** Node-wide settings of the config file. */
    private record NodeSettings(int httpPort, int replicas, ReplayLog.FsyncPolicy fsync, int snapshotEveryFrames) {
        static final NodeSettings DEFAULT = new NodeSettings(8080, 3, ReplayLog.FsyncPolicy.ALWAYS, 1000);
    }

    // ---- the config file ----

    private record FileConfig(Batching batching, Map<String, AppDraft> apps, NodeSettings node) {}

    /** An app while flags are merged into it. */
    private static final class AppDraft {
        final String name;
        String module;
        String origin;
        final List<String> listeners = new ArrayList<>();
        List<PortDraft> tcp = new ArrayList<>();
        GuestLimits limits = GuestLimits.DEFAULT;
        /** Where limits.maxOpenFds was set, or null when it is the default. */
        String maxOpenFdsOrigin;
        int maxConnections = DEFAULT_MAX_CONNECTIONS;
        /** Null until the config sets it: then the default, lowered to maxConnections. */
        Integer maxConnectionsPerClient;
        long idleTimeoutMs = ClientLimits.DEFAULT.idleTimeoutMs();
        long headerTimeoutMs = ClientLimits.DEFAULT.headerTimeoutMs();
        long bodyTimeoutMs = ClientLimits.DEFAULT.bodyTimeoutMs();
        long minBodyBytesPerSecond = ClientLimits.DEFAULT.minBodyBytesPerSecond();
        /** Where maxConnectionsPerClient was set, for the error when it exceeds maxConnections. */
        String perClientOrigin;
        final List<String> args = new ArrayList<>();
        final Map<String, String> env = new java.util.LinkedHashMap<>();
        List<String> preopens = AppConfig.DEFAULT_PREOPENS;
        /** HTTP listener: null = "http" if the app has it, "" = no HTTP, else the listener's name. */
        String http;
        List<String> upstreams = List.of();
        long upstreamConnectTimeoutMs = AppConfig.DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS;

        AppDraft(String name, String module, String origin) {
            this.name = name;
            this.module = module;
            this.origin = origin;
        }
    }

    /** A port before its listener is known: {@code listener} is null for "the app's first listener". */
    private record PortDraft(int port, String listener, String origin) {}

    private static FileConfig readFile(Path workDir, Path file, boolean given) {
        String text;
        try {
            text = Files.readString(workDir.resolve(file));
        } catch (NoSuchFileException e) {
            if (given) {
                throw new UserError("config file " + file + " does not exist (looked in " + workDir.toAbsolutePath() + ")",
                        "check the path given with --config");
            }
            return new FileConfig(Batching.DEFAULT, new LinkedHashMap<>(), NodeSettings.DEFAULT);
        } catch (IOException e) {
            throw new UserError("config file " + file + " cannot be read: " + e.getMessage(), "check the file's permissions");
        }
        JsonObject root;
        try {
            root = new JsonObject(text);
        } catch (DecodeException e) {
            throw new UserError("config file " + file + " is not valid JSON: " + e.getMessage(),
                    "correct the syntax (conf/replicode.json in the Replicode repository is an example)");
        }
        Where where = new Where(file.toString());
        where.checkKeys(root, "", "batching", "apps", "http", "replicas", "log", "snapshotEveryFrames");
        NodeSettings node = readNode(where, root);
        Batching batching = Batching.DEFAULT;
        if (root.containsKey("batching")) {
            JsonObject b = where.object(root.getValue("batching"), "batching");
            where.checkKeys(b, "batching", "intervalMs", "maxEventsPerFrame", "lingerMicros");
            long intervalMs = b.containsKey("intervalMs")
                    ? where.integer(b.getValue("intervalMs"), "batching.intervalMs", 1, 10_000) : batching.intervalMs();
            int maxEvents = b.containsKey("maxEventsPerFrame")
                    ? (int) where.integer(b.getValue("maxEventsPerFrame"), "batching.maxEventsPerFrame", 1, 65_536)
                    : batching.maxEventsPerFrame();
            long linger = b.containsKey("lingerMicros")
                    ? where.integer(b.getValue("lingerMicros"), "batching.lingerMicros", 0, 1000 * intervalMs)
                    : batching.lingerMicros();
            batching = new Batching(intervalMs, maxEvents, linger);
        }
        Map<String, AppDraft> apps = new LinkedHashMap<>();
        if (root.containsKey("apps")) {
            JsonObject all = where.object(root.getValue("apps"), "apps");
            for (String name : all.fieldNames()) {
                apps.put(name, readApp(where, name, where.object(all.getValue(name), "apps." + name)));
            }
        }
        return new FileConfig(batching, apps, node);
    }

    private static NodeSettings readNode(Where where, JsonObject root) {
        NodeSettings d = NodeSettings.DEFAULT;
        int httpPort = d.httpPort();
        if (root.containsKey("http")) {
            JsonObject h = where.object(root.getValue("http"), "http");
            where.checkKeys(h, "http", "port");
            if (h.containsKey("port")) {
                httpPort = (int) where.integer(h.getValue("port"), "http.port", 0, 65535);
            }
        }
        int replicas = root.containsKey("replicas") ? (int) where.integer(root.getValue("replicas"), "replicas", 1, 16) : d.replicas();
        ReplayLog.FsyncPolicy fsync = d.fsync();
        if (root.containsKey("log")) {
            JsonObject l = where.object(root.getValue("log"), "log");
            where.checkKeys(l, "log", "fsync");
            if (l.containsKey("fsync")) {
                String v = where.string(l.getValue("fsync"), "log.fsync");
                try {
                    fsync = ReplayLog.FsyncPolicy.valueOf(v.toUpperCase(java.util.Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    throw where.error("log.fsync", "unknown fsync policy '" + v + "'", "use always, interval or never");
                }
            }
        }
        int snapshots = root.containsKey("snapshotEveryFrames")
                ? (int) where.integer(root.getValue("snapshotEveryFrames"), "snapshotEveryFrames", 0, Integer.MAX_VALUE)
                : d.snapshotEveryFrames();
        return new NodeSettings(httpPort, replicas, fsync, snapshots);
    }

    private static AppDraft readApp(Where where, String name, JsonObject o) {
        String at = "apps." + name;
        if (!APP_NAME.matcher(name).matches()) {
            throw where.error(at, "app name '" + name + "' is not allowed",
                    "use lower case letters, digits, '-' and '_', starting with a letter (at most 32)");
        }
        where.checkKeys(o, at, "module", "listeners", "tcp", "limits", "maxConnections", "gateway", "args", "env",
                "preopens", "http", "upstreams", "upstreamConnectTimeoutMs");
        if (!o.containsKey("module")) {
            throw where.error(at, "app '" + name + "' has no module", "add \"module\": \"path/to/app.wasm\"");
        }
        AppDraft d = new AppDraft(name, where.string(o.getValue("module"), at + ".module"), where.file + " " + at + ".module");
        if (o.containsKey("listeners")) {
            JsonArray ls = where.array(o.getValue("listeners"), at + ".listeners");
            for (int i = 0; i < ls.size(); i++) {
                String l = where.string(ls.getValue(i), at + ".listeners[" + i + "]");
                checkListener(l, where.file + " " + at + ".listeners[" + i + "]");
                if (d.listeners.contains(l)) {
                    throw where.error(at + ".listeners", "listener '" + l + "' is listed twice", "list each name once");
                }
                d.listeners.add(l);
            }
        }
        if (o.containsKey("tcp")) {
            JsonArray ports = where.array(o.getValue("tcp"), at + ".tcp");
            for (int i = 0; i < ports.size(); i++) {
                String pat = at + ".tcp[" + i + "]";
                JsonObject p = where.object(ports.getValue(i), pat);
                where.checkKeys(p, pat, "port", "listener");
                if (!p.containsKey("port")) {
                    throw where.error(pat, "no port", "write {\"port\": 7007} or {\"port\": 7007, \"listener\": \"main\"}");
                }
                int port = (int) where.integer(p.getValue("port"), pat + ".port", 0, 65535);
                String listener = p.containsKey("listener") ? where.string(p.getValue("listener"), pat + ".listener") : null;
                if (listener != null) {
                    checkListener(listener, where.file + " " + pat + ".listener");
                }
                d.tcp.add(new PortDraft(port, listener, where.file + " " + pat));
            }
        }
        if (o.containsKey("limits")) {
            JsonObject limits = where.object(o.getValue("limits"), at + ".limits");
            d.limits = readLimits(where, at + ".limits", limits);
            if (limits.containsKey("maxOpenFds")) {
                d.maxOpenFdsOrigin = at + ".limits.maxOpenFds";
            }
        }
        if (o.containsKey("maxConnections")) {
            d.maxConnections = (int) where.integer(o.getValue("maxConnections"), at + ".maxConnections", 1, 1 << 20);
        }
        if (o.containsKey("gateway")) {
            readClientLimits(where, at + ".gateway", where.object(o.getValue("gateway"), at + ".gateway"), d);
        }
        if (o.containsKey("http")) {
            Object h = o.getValue("http");
            if (Boolean.FALSE.equals(h)) {
                d.http = "";
            } else {
                d.http = where.string(h, at + ".http");
                checkListener(d.http, where.file + " " + at + ".http");
            }
        }
        if (o.containsKey("args")) {
            JsonArray a = where.array(o.getValue("args"), at + ".args");
            for (int i = 0; i < a.size(); i++) {
                d.args.add(where.string(a.getValue(i), at + ".args[" + i + "]"));
            }
        }
        if (o.containsKey("env")) {
            JsonObject e = where.object(o.getValue("env"), at + ".env");
            for (String key : e.fieldNames()) {
                if (key.isEmpty() || key.contains("=")) {
                    throw where.error(at + ".env", "environment name '" + key + "' is not allowed",
                            "use a name without '=' (e.g. \"GREETING\")");
                }
                d.env.put(key, where.string(e.getValue(key), at + ".env." + key));
            }
        }
        if (o.containsKey("preopens")) {
            JsonArray ps = where.array(o.getValue("preopens"), at + ".preopens");
            List<String> dirs = new ArrayList<>();
            for (int i = 0; i < ps.size(); i++) {
                String dir = where.string(ps.getValue(i), at + ".preopens[" + i + "]");
                if (!dir.matches("/[A-Za-z0-9._-]+") || dirs.contains(dir)) {
                    throw where.error(at + ".preopens[" + i + "]", "preopen '" + dir + "' is not a distinct top-level directory",
                            "name each directory once, like \"/data\" or \"/tmp\"");
                }
                dirs.add(dir);
            }
            d.preopens = List.copyOf(dirs);
        }
        if (o.containsKey("upstreams")) {
            JsonArray us = where.array(o.getValue("upstreams"), at + ".upstreams");
            List<String> targets = new ArrayList<>();
            for (int i = 0; i < us.size(); i++) {
                String u = where.string(us.getValue(i), at + ".upstreams[" + i + "]");
                try {
                    targets.add(io.replicode.replica.Upstream.parse(u).toString());
                } catch (IllegalArgumentException e) {
                    throw where.error(at + ".upstreams[" + i + "]", e.getMessage(),
                            "write host:port, like \"127.0.0.1:5432\" or \"api.example.com:443\"");
                }
            }
            d.upstreams = List.copyOf(targets);
        }
        if (o.containsKey("upstreamConnectTimeoutMs")) {
            d.upstreamConnectTimeoutMs = where.integer(o.getValue("upstreamConnectTimeoutMs"), at + ".upstreamConnectTimeoutMs", 1,
                    600_000);
        }
        return d;
    }

    /** The app's {@code "gateway"} object: what the gateway allows its clients (see {@link ClientLimits}). */
    private static void readClientLimits(Where where, String at, JsonObject g, AppDraft d) {
        where.checkKeys(g, at, "maxConnectionsPerClient", "idleTimeoutMs", "headerTimeoutMs", "bodyTimeoutMs",
                "minBodyBytesPerSecond");
        if (g.containsKey("maxConnectionsPerClient")) {
            d.maxConnectionsPerClient = (int) where.integer(g.getValue("maxConnectionsPerClient"),
                    at + ".maxConnectionsPerClient", 1, 1 << 20);
            d.perClientOrigin = where.file + " " + at + ".maxConnectionsPerClient";
        }
        if (g.containsKey("idleTimeoutMs")) {
            d.idleTimeoutMs = where.integer(g.getValue("idleTimeoutMs"), at + ".idleTimeoutMs", 1_000, 86_400_000);
        }
        if (g.containsKey("headerTimeoutMs")) {
            d.headerTimeoutMs = where.integer(g.getValue("headerTimeoutMs"), at + ".headerTimeoutMs", 100, 600_000);
        }
        if (g.containsKey("bodyTimeoutMs")) {
            d.bodyTimeoutMs = where.integer(g.getValue("bodyTimeoutMs"), at + ".bodyTimeoutMs", 100, 3_600_000);
        }
        if (g.containsKey("minBodyBytesPerSecond")) {
            d.minBodyBytesPerSecond = where.integer(g.getValue("minBodyBytesPerSecond"), at + ".minBodyBytesPerSecond",
                    1, 1L << 30);
        }
    }

    /** Limits by their names ({@link GuestLimits#byName}); an omitted limit keeps its default. */
    private static GuestLimits readLimits(Where where, String at, JsonObject o) {
        Map<String, Number> defaults = GuestLimits.DEFAULT.byName();
        where.checkKeys(o, at, defaults.keySet().toArray(String[]::new));
        Map<String, Long> values = new LinkedHashMap<>();
        defaults.forEach((name, dflt) -> {
            long max = dflt instanceof Integer ? Integer.MAX_VALUE : Long.MAX_VALUE;
            values.put(name, o.containsKey(name) ? where.integer(o.getValue(name), at + "." + name, 0, max) : dflt.longValue());
        });
        try {
            return GuestLimits.fromNames(values::get);
        } catch (io.replicode.FixableException bad) {
            throw where.error(at, bad.what(), bad.fixOr("use a value in range"));
        }
    }

    // ---- the flags ----

    private static Map<String, AppDraft> chooseApps(Map<String, AppDraft> configured, List<String> appFlags) {
        if (appFlags.isEmpty()) {
            return configured;
        }
        Map<String, AppDraft> chosen = new LinkedHashMap<>();
        for (String flag : appFlags) {
            int eq = flag.indexOf('=');
            if (eq < 0 || eq == flag.length() - 1) {
                throw new UserError("--app '" + flag + "' is not NAME=PATH.wasm", "write e.g. " + APP_EXAMPLE);
            }
            String name = flag.substring(0, eq);
            if (!APP_NAME.matcher(name).matches()) {
                throw new UserError("--app '" + flag + "': app name '" + name + "' is not allowed",
                        "use lower case letters, digits, '-' and '_', starting with a letter (at most 32), e.g. " + APP_EXAMPLE);
            }
            if (chosen.containsKey(name)) {
                throw new UserError("--app names app '" + name + "' twice", "give each app one --app");
            }
            AppDraft d = configured.getOrDefault(name, new AppDraft(name, null, null));
            d.module = flag.substring(eq + 1);
            d.origin = "--app " + flag;
            chosen.put(name, d);
        }
        return chosen;
    }

    private static void applyTcpFlags(Map<String, AppDraft> apps, List<String> tcpFlags) {
        Map<String, List<PortDraft>> byApp = new LinkedHashMap<>();
        for (String flag : tcpFlags) {
            int eq = flag.indexOf('=');
            if (eq <= 0 || eq == flag.length() - 1) {
                throw new UserError("--tcp '" + flag + "' is not PORT=APP[:LISTENER]", "write e.g. " + TCP_EXAMPLE);
            }
            String portText = flag.substring(0, eq);
            int port;
            try {
                port = Integer.parseInt(portText);
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (port < 0 || port > 65535) {
                throw new UserError("--tcp '" + flag + "': port '" + portText + "' is not a number from 0 to 65535",
                        "write e.g. " + TCP_EXAMPLE);
            }
            String target = flag.substring(eq + 1);
            int colon = target.indexOf(':');
            String app = colon < 0 ? target : target.substring(0, colon);
            String listener = colon < 0 ? null : target.substring(colon + 1);
            if (!apps.containsKey(app)) {
                throw new UserError("--tcp '" + flag + "' names app '" + app + "', which is not defined",
                        apps.isEmpty() ? "define it with --app " + app + "=PATH.wasm"
                                : "define it with --app " + app + "=PATH.wasm, or use one of: " + String.join(", ", apps.keySet()));
            }
            if (listener != null) {
                checkListener(listener, "--tcp '" + flag + "'");
            }
            byApp.computeIfAbsent(app, a -> new ArrayList<>()).add(new PortDraft(port, listener, "--tcp " + flag));
        }
        byApp.forEach((app, ports) -> apps.get(app).tcp = ports);
    }

    private static void applyHttpFlags(Map<String, AppDraft> apps, List<String> httpFlags) {
        for (String flag : httpFlags) {
            int colon = flag.indexOf(':');
            String app = colon < 0 ? flag : flag.substring(0, colon);
            AppDraft d = apps.get(app);
            if (d == null) {
                throw new UserError("--http '" + flag + "' names app '" + app + "', which is not defined",
                        "define it with --app " + app + "=PATH.wasm");
            }
            // An app's HTTP listener is called "http" unless the flag names another.
            String listener = colon < 0 ? "http" : flag.substring(colon + 1);
            checkListener(listener, "--http '" + flag + "'");
            d.http = listener;
        }
    }

    private static AppConfig resolve(Path workDir, AppDraft d, Map<Integer, String> portOwners) {
        boolean httpWanted = d.http != null && !d.http.isEmpty();
        if (d.tcp.isEmpty() && !httpWanted && !d.listeners.contains("http") && d.upstreams.isEmpty()) {
            throw new UserError("app '" + d.name + "' has no TCP port, no HTTP route and no upstream, so nothing could reach it"
                    + " and it could reach nothing",
                    "add --tcp PORT=" + d.name + " (e.g. --tcp 7007=" + d.name + ") or --http " + d.name
                            + ", or list the services it connects to in apps." + d.name + ".upstreams");
        }
        List<String> listeners = new ArrayList<>(d.listeners);
        if (listeners.isEmpty() && d.tcp.isEmpty() && !httpWanted) {
            listeners.add(DEFAULT_LISTENER); // a client that only connects out still gets a listener it may ignore
        }
        List<TcpBinding> tcp = new ArrayList<>();
        for (PortDraft p : d.tcp) {
            // A port without a listener mentions the app's first one: "main" when none is named yet.
            String listener = p.listener() != null ? p.listener() : listeners.isEmpty() ? DEFAULT_LISTENER : listeners.get(0);
            if (!listeners.contains(listener)) {
                listeners.add(listener);
            }
            if (p.port() != 0) {
                String owner = portOwners.putIfAbsent(p.port(), p.origin());
                if (owner != null) {
                    throw new UserError("port " + p.port() + " is given twice: by " + owner + " and by " + p.origin(),
                            "give each app its own port");
                }
            }
            tcp.add(new TcpBinding(p.port(), listener));
        }
        // After the listeners the TCP ports name, so fds follow the order of mention.
        if (httpWanted && !listeners.contains(d.http)) {
            listeners.add(d.http);
        }
        Path module = workDir.resolve(d.module);
        if (!Files.isRegularFile(module)) {
            throw new UserError("app '" + d.name + "': module file " + d.module + " does not exist (from " + d.origin
                    + ", looked in " + workDir.toAbsolutePath() + ")",
                    d.origin.startsWith("--app") ? "check the path given with --app, e.g. " + APP_EXAMPLE
                            : "run from the Replicode directory, or correct the module path in the config file");
        }
        String httpListener = d.http == null ? (listeners.contains("http") ? "http" : null) : d.http.isEmpty() ? null : d.http;
        int perClient = d.maxConnectionsPerClient != null ? d.maxConnectionsPerClient
                : Math.min(d.maxConnections, ClientLimits.DEFAULT.maxConnectionsPerClient());
        if (perClient > d.maxConnections) {
            throw new UserError(d.perClientOrigin + ": maxConnectionsPerClient " + perClient + " is above app '" + d.name
                    + "' maxConnections " + d.maxConnections + ", so it could never hold",
                    "lower apps." + d.name + ".gateway.maxConnectionsPerClient, or raise apps." + d.name + ".maxConnections");
        }
        ClientLimits clients = new ClientLimits(perClient, d.idleTimeoutMs, d.headerTimeoutMs, d.bodyTimeoutMs,
                d.minBodyBytesPerSecond);
        // The guest's own connection table is sized from this (unless the config sets it), so that what the
        // gateway admits is what the guest accepts.
        Map<String, String> env = new LinkedHashMap<>(d.env);
        env.putIfAbsent(MAX_CONNECTIONS_ENV, Integer.toString(d.maxConnections));
        return new AppConfig(d.name, module, listeners, tcp, descriptorsFor(d, listeners.size()), d.maxConnections, d.args,
                env, d.preopens, httpListener, clients, d.upstreams, d.upstreamConnectTimeoutMs, AppConfig.portsOf(tcp));
    }

    /** Descriptors a guest needs besides its connections: stdio, and room for files it opens. */
    static final int SPARE_GUEST_FDS = 64;

    /**
     * The app's limits with room for every connection the gateway admits: stdio, the listeners, the preopens and
     * {@value #SPARE_GUEST_FDS} spare descriptors on top of maxConnections. A default maxOpenFds is raised to
     * that; one the config sets too low is refused, so what the user configures is what holds.
     */
    private static GuestLimits descriptorsFor(AppDraft d, int listeners) {
        long needed = (long) d.maxConnections + 3 + listeners + d.preopens.size() + SPARE_GUEST_FDS;
        if (d.limits.maxOpenFds() >= needed) {
            return d.limits;
        }
        if (d.maxOpenFdsOrigin != null) {
            throw new UserError(d.maxOpenFdsOrigin + " = " + d.limits.maxOpenFds() + " leaves the guest fewer descriptors than the "
                    + d.maxConnections + " connections app '" + d.name + "' admits (it needs " + needed + ")",
                    "raise it to " + needed + " or more, or lower apps." + d.name + ".maxConnections");
        }
        if (needed > 65536) {
            throw new UserError("app '" + d.name + "' maxConnections " + d.maxConnections + " needs " + needed
                    + " guest descriptors, more than the 65536 a guest may have", "lower apps." + d.name + ".maxConnections");
        }
        return d.limits.withMaxOpenFds((int) needed);
    }

    private static void checkListener(String name, String where) {
        if (!LISTENER_NAME.matcher(name).matches()) {
            throw new UserError(where + ": listener name '" + name + "' is not allowed",
                    "use letters, digits, '.', '-' and '_' (at most 32), e.g. main");
        }
    }

    /** Typed access to the config file's JSON, with errors that name the key. */
    private record Where(String file) {
        UserError error(String at, String problem, String fix) {
            return new UserError(file + (at.isEmpty() ? "" : " " + at) + ": " + problem, fix);
        }

        void checkKeys(JsonObject o, String at, String... known) {
            Set<String> allowed = Set.of(known);
            for (String k : o.fieldNames()) {
                if (!allowed.contains(k)) {
                    throw error(at, "unknown key '" + k + "'",
                            "use one of: " + new TreeSet<>(allowed).stream().collect(Collectors.joining(", ")));
                }
            }
        }

        JsonObject object(Object v, String at) {
            if (v instanceof JsonObject o) {
                return o;
            }
            throw error(at, "expected an object {...}, found " + describe(v), "write an object here");
        }

        JsonArray array(Object v, String at) {
            if (v instanceof JsonArray a) {
                return a;
            }
            throw error(at, "expected an array [...], found " + describe(v), "write an array here");
        }

        String string(Object v, String at) {
            if (v instanceof String s && !s.isEmpty()) {
                return s;
            }
            throw error(at, "expected a non-empty string, found " + describe(v), "write a string in double quotes");
        }

        long integer(Object v, String at, long min, long max) {
            if (v instanceof Number n && !(v instanceof Double || v instanceof Float || v instanceof java.math.BigDecimal)
                    && n.longValue() >= min && n.longValue() <= max) {
                return n.longValue();
            }
            throw error(at, "expected a whole number from " + min + " to " + max + ", found " + describe(v),
                    "write a number in that range");
        }

        private static String describe(Object v) {
            return v == null ? "null" : v instanceof String s ? "\"" + s + "\"" : String.valueOf(v);
        }
    }
}
