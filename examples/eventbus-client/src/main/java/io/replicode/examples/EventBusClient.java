package io.replicode.examples;

import com.hazelcast.cluster.Member;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.MultiMapConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.partition.NoDataMemberInClusterException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A plain Vert.x application (nothing of Replicode on its class path) that joins a Replicode cluster and calls an
 * app through the event bus.
 *
 * <p><b>Joining.</b> Replicode members run Vert.x clustered with Hazelcast. This client joins the same Hazelcast
 * cluster as a <em>lite member</em>: it holds no partitions (no frame rings, no Vert.x registry data), it only sees
 * the event bus. Its Hazelcast configuration is built here, in code, from what matters in Replicode's
 * {@code conf/cluster.xml} (the reference): cluster name {@code replicode}, TCP/IP join with the members' list and
 * no multicast, the same heartbeats, and the {@code __vertx.*} structures Vert.x's cluster manager uses.
 *
 * <p><b>The request contract</b> ({@code replicode.app.<app>.request}, served by every member's gateway):
 * <ul>
 *   <li>body: a {@link Buffer} (or byte[] or String, as UTF-8) of bytes; the gateway opens a fresh virtual
 *       connection to the app's listener named in the {@value #LISTENER_HEADER} header (default: the app's first
 *       listener; {@code resp} for the kv app), writes the body, then half-closes the connection (end of input);</li>
 *   <li>reply: a {@link Buffer} with every byte the guest wrote on that connection until it closed it, so the
 *       guest must answer and close once its input ends (the kv app does, on every listener);</li>
 *   <li>failure: {@link ReplyException} with {@code failureType() == RECIPIENT_FAILURE}, a code
 *       ({@link #BAD_REQUEST}, {@link #NO_SUCH_LISTENER}, {@link #TOO_LARGE}, {@link #RESET},
 *       {@link #UNAVAILABLE}, {@link #GATEWAY_TIMEOUT}) and a message saying what happened. No gateway serving
 *       the app is {@code NO_HANDLERS}; no answer in time is {@code TIMEOUT}.</li>
 * </ul>
 * {@link #request(Vertx, String, String, Buffer, long)} turns every failure into a {@link ReplicodeRequestException}.
 *
 * <p>Command line: {@code EventBusClient --members 127.0.0.1:5701,... [--host 127.0.0.1] [--port 5710]
 * [--app kv] [--listener NAME] [--protocol resp|line] [--timeout-ms MS] [--raw] COMMAND [ARG...] [";" COMMAND ...]},
 * e.g. {@code set greeting hello}, {@code get greeting}; see README.md.
 */
public final class EventBusClient {
    /** Cluster name of every Replicode cluster ({@code <cluster-name>} in conf/cluster.xml). */
    public static final String CLUSTER_NAME = "replicode";
    /** Message header naming the guest listener that gets the request. */
    public static final String LISTENER_HEADER = "listener";

    // Failure codes of a gateway (io.replicode.gateway.eventbus.EventBusIngress; the test checks they agree).
    /** The body was not a Buffer, byte[] or String. */
    public static final int BAD_REQUEST = 400;
    /** The app has no listener of the name given in the {@value #LISTENER_HEADER} header. */
    public static final int NO_SUCH_LISTENER = 404;
    /** The request or the guest's reply is larger than the app's limit. */
    public static final int TOO_LARGE = 413;
    /** The guest reset (or refused) the connection. */
    public static final int RESET = 502;
    /** The app stopped, has too many connections, the member is cut off from the majority, or the gateway stops. */
    public static final int UNAVAILABLE = 503;
    /** The guest did not close the connection within the gateway's request timeout (30 s by default). */
    public static final int GATEWAY_TIMEOUT = 504;
    private static final Map<Integer, String> CODE_NAMES = Map.of(BAD_REQUEST, "bad request", NO_SUCH_LISTENER,
            "no such listener", TOO_LARGE, "too large", RESET, "reset by the app", UNAVAILABLE, "unavailable",
            GATEWAY_TIMEOUT, "gateway timeout");

    /** Longer than the gateway's own 30 s request timeout, so its 504 (which says more) comes first. */
    public static final long DEFAULT_TIMEOUT_MS = 35_000;
    /** How long {@link #main} waits to join the cluster. */
    public static final long JOIN_TIMEOUT_MS = 60_000;

    /** Held here: java.util.logging keeps loggers weakly, and a collected one would forget its level. */
    private static final Logger HAZELCAST_LOG = Logger.getLogger("com.hazelcast");

    private EventBusClient() {}

    /** The address an app's gateways consume: {@code replicode.app.<app>.request}. */
    public static String requestAddress(String app) {
        return "replicode.app." + app + ".request";
    }

    /**
     * The Hazelcast configuration of a lite member that joins the Replicode cluster listed in {@code members}
     * ({@code ip:port} of the Replicode members), listening on {@code host:port} itself.
     * Mirrors conf/cluster.xml where it matters for a member that holds no data.
     */
    public static Config hazelcastConfig(String host, int port, List<String> members) {
        Config config = new Config();
        config.setClusterName(CLUSTER_NAME);
        // Holds no partitions: no copies of the apps' frame rings, no Vert.x registry data, never a sequencer.
        config.setLiteMember(true);
        // The same failure detection as the members; no calls home; Vertx.close() leaves the cluster.
        config.setProperty("hazelcast.heartbeat.interval.seconds", "1");
        config.setProperty("hazelcast.max.no.heartbeat.seconds", "5");
        config.setProperty("hazelcast.phone.home.enabled", "false");
        config.setProperty("hazelcast.shutdownhook.enabled", "false");

        NetworkConfig network = config.getNetworkConfig();
        network.setPort(port).setPortAutoIncrement(false).setReuseAddress(true);
        network.getInterfaces().setEnabled(true).setInterfaces(List.of(host));
        JoinConfig join = network.getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        join.getTcpIpConfig().setEnabled(true).setMembers(new ArrayList<>(members));

        // What Vert.x's default-cluster.xml (and conf/cluster.xml) declare for the event-bus registry.
        config.addMultiMapConfig(new MultiMapConfig("__vertx.subs").setBackupCount(1)
                .setValueCollectionType(MultiMapConfig.ValueCollectionType.SET));
        config.addMapConfig(new MapConfig("__vertx.haInfo").setBackupCount(1));
        config.addMapConfig(new MapConfig("__vertx.nodeInfo").setBackupCount(1));
        return config;
    }

    /**
     * Starts a clustered Vert.x that joins the Replicode cluster as a Hazelcast lite member on {@code host:port}, with
     * its event bus bound to {@code host}. Fails (and leaves) when the cluster it joined has no Replicode member.
     */
    public static Future<Vertx> join(String host, int port, List<String> members) {
        HazelcastClusterManager manager = new HazelcastClusterManager(hazelcastConfig(host, port, members));
        VertxOptions options = new VertxOptions();
        options.getEventBusOptions().setHost(host);
        return Vertx.builder().with(options).withClusterManager(manager).buildClustered()
                .recover(e -> Future.failedFuture(causedBy(e, NoDataMemberInClusterException.class)
                        ? noMember(members, e)
                        : new IllegalStateException("could not join the Replicode cluster " + members + " as " + host + ":"
                                + port + ": " + e.getMessage() + " Fix: check that port " + port + " is free and that "
                                + "--members lists running Replicode members", e)))
                .compose(vertx -> {
                    boolean member = false;
                    for (Member m : manager.getHazelcastInstance().getCluster().getMembers()) {
                        member |= !m.isLiteMember();
                    }
                    if (member) {
                        return Future.succeededFuture(vertx);
                    }
                    return vertx.close().transform(ignored -> Future.failedFuture(noMember(members, null)));
                });
    }

    private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    /** A lite member alone (no member reachable) cannot even start Vert.x: it has nowhere to keep the registry. */
    private static IllegalStateException noMember(List<String> members, Throwable cause) {
        return new IllegalStateException("no Replicode member answered at " + members + " (a lite member cannot form a "
                + "cluster alone). Fix: start the members first (./replicode node --cluster ...) and list them with --members",
                cause);
    }

    /** {@link #request(Vertx, String, String, Buffer, long)} to the app's first listener, with the default timeout. */
    public static Future<Buffer> request(Vertx vertx, String app, Buffer bytes) {
        return request(vertx, app, null, bytes, DEFAULT_TIMEOUT_MS);
    }

    /**
     * Sends {@code bytes} to {@code app}'s {@code listener} (null: the app's first) through any gateway of the
     * cluster and completes with every byte the guest wrote back before closing the connection; fails with a
     * {@link ReplicodeRequestException}.
     */
    public static Future<Buffer> request(Vertx vertx, String app, String listener, Buffer bytes, long timeoutMs) {
        DeliveryOptions options = new DeliveryOptions().setSendTimeout(timeoutMs);
        if (listener != null) {
            options.addHeader(LISTENER_HEADER, listener);
        }
        Future<Message<Buffer>> reply = vertx.eventBus().request(requestAddress(app), bytes, options);
        return reply.map(Message::body).recover(e -> Future.failedFuture(explain(app, listener, timeoutMs, e)));
    }

    private static ReplicodeRequestException explain(String app, String listener, long timeoutMs, Throwable e) {
        String address = requestAddress(app);
        if (e instanceof ReplyException r) {
            switch (r.failureType()) {
                case RECIPIENT_FAILURE:
                    String name = CODE_NAMES.getOrDefault(r.failureCode(), "failure");
                    return new ReplicodeRequestException(app, ReplicodeRequestException.Kind.GATEWAY_FAILED, r.failureCode(),
                            "app '" + app + "': the gateway failed the request with " + r.failureCode() + " (" + name + "): "
                                    + r.getMessage(), e);
                case NO_HANDLERS:
                    return new ReplicodeRequestException(app, ReplicodeRequestException.Kind.NO_GATEWAY, -1,
                            "no gateway in the cluster serves app '" + app + "' (nothing consumes " + address + "). Fix: check "
                                    + "the app's name, and that a member with the gateway role runs it (--app " + app + "=...)", e);
                case TIMEOUT:
                    return new ReplicodeRequestException(app, ReplicodeRequestException.Kind.TIMEOUT, -1,
                            "app '" + app + "'" + (listener == null ? "" : " listener '" + listener + "'") + ": no reply within "
                                    + timeoutMs + " ms on " + address, e);
                default:
                    break;
            }
        }
        return new ReplicodeRequestException(app, ReplicodeRequestException.Kind.OTHER, -1,
                "request to " + address + " failed: " + e, e);
    }

    // ---- the kv app's protocols ----

    /** A RESP2 command: an array of bulk strings (what redis-cli sends). */
    public static Buffer resp(List<String> words) {
        Buffer b = Buffer.buffer();
        b.appendString("*" + words.size() + "\r\n");
        for (String w : words) {
            byte[] bytes = w.getBytes(StandardCharsets.UTF_8);
            b.appendString("$" + bytes.length + "\r\n").appendBytes(bytes).appendString("\r\n");
        }
        return b;
    }

    public static Buffer resp(String... words) {
        return resp(List.of(words));
    }

    /** A command of the kv app's line protocol: the words separated by spaces, then a newline. */
    public static Buffer line(List<String> words) {
        return Buffer.buffer(String.join(" ", words) + "\n", "UTF-8");
    }

    /**
     * RESP2 replies as redis-cli shows them: {@code OK}, {@code "v"}, {@code (nil)}, {@code (integer) 1},
     * {@code (error) ERR ...}, numbered array elements; one line per reply. Bytes that do not parse as RESP are
     * shown escaped after what did.
     */
    public static String formatResp(Buffer reply) {
        byte[] b = reply.getBytes();
        StringBuilder out = new StringBuilder();
        int[] pos = {0};
        while (pos[0] < b.length) {
            int start = pos[0];
            StringBuilder one = new StringBuilder();
            if (!formatValue(b, pos, one, "")) {
                out.append("(unparsed) \"").append(escape(b, start, b.length)).append("\"\n");
                break;
            }
            out.append(one).append('\n');
        }
        return out.toString();
    }

    private static boolean formatValue(byte[] b, int[] pos, StringBuilder out, String indent) {
        String head = readLine(b, pos);
        if (head == null || head.isEmpty()) {
            return false;
        }
        String rest = head.substring(1);
        switch (head.charAt(0)) {
            case '+':
                out.append(rest);
                return true;
            case '-':
                out.append("(error) ").append(rest);
                return true;
            case ':':
                out.append("(integer) ").append(rest);
                return true;
            case '$': {
                int len = parseInt(rest);
                if (len == -1) {
                    out.append("(nil)");
                    return true;
                }
                if (len < -1 || pos[0] + len + 2 > b.length) {
                    return false;
                }
                out.append('"').append(escape(b, pos[0], pos[0] + len)).append('"');
                pos[0] += len + 2;
                return true;
            }
            case '*': {
                int n = parseInt(rest);
                if (n == -1) {
                    out.append("(nil)");
                    return true;
                }
                if (n == 0) {
                    out.append("(empty array)");
                    return true;
                }
                if (n < -1) {
                    return false;
                }
                String width = " ".repeat(String.valueOf(n).length() + 2);
                for (int i = 1; i <= n; i++) {
                    if (i > 1) {
                        out.append('\n').append(indent);
                    }
                    String label = i + ") ";
                    out.append(" ".repeat(width.length() - label.length())).append(label);
                    if (!formatValue(b, pos, out, indent + width)) {
                        return false;
                    }
                }
                return true;
            }
            default:
                return false;
        }
    }

    private static String readLine(byte[] b, int[] pos) {
        for (int i = pos[0]; i + 1 < b.length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n') {
                String s = new String(b, pos[0], i - pos[0], StandardCharsets.UTF_8);
                pos[0] = i + 2;
                return s;
            }
        }
        return null;
    }

    private static int parseInt(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return -2;
        }
    }

    private static String escape(byte[] b, int from, int to) {
        StringBuilder s = new StringBuilder();
        for (int i = from; i < to; i++) {
            int c = b[i] & 0xff;
            if (c == '"' || c == '\\') {
                s.append('\\').append((char) c);
            } else if (c == '\n') {
                s.append("\\n");
            } else if (c == '\r') {
                s.append("\\r");
            } else if (c == '\t') {
                s.append("\\t");
            } else if (c < 0x20 || c >= 0x7f) {
                s.append(String.format("\\x%02x", c));
            } else {
                s.append((char) c);
            }
        }
        return s.toString();
    }

    // ---- the command line ----

    /** Exit codes of {@link #main}. */
    public static final int OK = 0;
    public static final int REQUEST_FAILED = 1;
    public static final int USAGE = 2;
    public static final int JOIN_FAILED = 3;

    static final String USAGE_TEXT = String.join("\n",
            "usage: EventBusClient --members IP:PORT[,IP:PORT...] [--host IP] [--port PORT] [--app APP]",
            "                      [--listener NAME] [--protocol resp|line] [--timeout-ms MS] [--raw]",
            "                      COMMAND [ARG...] [';' COMMAND [ARG...]...]",
            "",
            "Joins the Replicode cluster whose members are --members as a Hazelcast lite member on --host:--port",
            "(default 127.0.0.1:5710), sends the commands (pipelined, in one request) to replicode.app.APP.request",
            "(default app kv), prints the reply and leaves.",
            "  --listener NAME    the app's listener that gets the bytes (default: the app's first; kv: resp)",
            "  --protocol P       resp (default) or line (the default when --listener is line)",
            "  --raw              print the reply's bytes as they came",
            "examples:",
            "  EventBusClient --members 127.0.0.1:5701,127.0.0.1:5702,127.0.0.1:5703 set greeting hello",
            "  EventBusClient --members 127.0.0.1:5701 get greeting ';' del greeting",
            "  EventBusClient --members 127.0.0.1:5701 --listener line SET greeting hello world");

    /** The parsed command line. */
    record Args(List<String> members, String host, int port, String app, String listener, boolean lineProtocol, long timeoutMs,
                boolean raw, List<List<String>> commands) {
        Buffer body() {
            Buffer b = Buffer.buffer();
            for (List<String> c : commands) {
                b.appendBuffer(lineProtocol ? line(c) : resp(c));
            }
            return b;
        }
    }

    static Args parse(String[] argv) {
        List<String> members = null;
        String host = "127.0.0.1";
        int port = 5710;
        String app = "kv";
        String listener = null;
        String protocol = null;
        long timeoutMs = DEFAULT_TIMEOUT_MS;
        boolean raw = false;
        int i = 0;
        for (; i < argv.length && argv[i].startsWith("--"); i++) {
            String opt = argv[i];
            if (opt.equals("--raw")) {
                raw = true;
                continue;
            }
            if (opt.equals("--help")) {
                throw new IllegalArgumentException("");
            }
            if (i + 1 >= argv.length) {
                throw new IllegalArgumentException(opt + " needs a value");
            }
            String v = argv[++i];
            switch (opt) {
                case "--members" -> {
                    members = new ArrayList<>();
                    for (String m : v.split(",")) {
                        if (!m.isBlank()) {
                            if (!m.strip().matches("[0-9.]+:[0-9]{1,5}")) {
                                throw new IllegalArgumentException("member '" + m + "' is not IP:PORT, e.g. 127.0.0.1:5701");
                            }
                            members.add(m.strip());
                        }
                    }
                }
                case "--host" -> host = v;
                case "--port" -> port = number(opt, v, 1, 65535);
                case "--app" -> app = v;
                case "--listener" -> listener = v;
                case "--protocol" -> protocol = v;
                case "--timeout-ms" -> timeoutMs = number(opt, v, 1, Integer.MAX_VALUE);
                default -> throw new IllegalArgumentException("unknown option " + opt);
            }
        }
        if (members == null || members.isEmpty()) {
            throw new IllegalArgumentException("--members is required: the Replicode members, e.g. 127.0.0.1:5701");
        }
        if (protocol == null) {
            protocol = "line".equals(listener) ? "line" : "resp";
        }
        if (!protocol.equals("resp") && !protocol.equals("line")) {
            throw new IllegalArgumentException("--protocol " + protocol + ": use resp or line");
        }
        List<List<String>> commands = new ArrayList<>();
        List<String> current = new ArrayList<>();
        for (; i < argv.length; i++) {
            if (argv[i].equals(";")) {
                if (!current.isEmpty()) {
                    commands.add(current);
                }
                current = new ArrayList<>();
            } else {
                current.add(argv[i]);
            }
        }
        if (!current.isEmpty()) {
            commands.add(current);
        }
        if (commands.isEmpty()) {
            throw new IllegalArgumentException("no command given, e.g. set greeting hello");
        }
        return new Args(members, host, port, app, listener, protocol.equals("line"), timeoutMs, raw, commands);
    }

    private static int number(String opt, String v, int min, int max) {
        try {
            int n = Integer.parseInt(v);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(opt + " " + v + " is not a number from " + min + " to " + max);
    }

    /** Runs the command line; returns the exit code ({@link #OK}, {@link #REQUEST_FAILED}, {@link #USAGE}, ...). */
    public static int run(String[] argv, PrintStream out, PrintStream err) {
        Args args;
        try {
            args = parse(argv);
        } catch (IllegalArgumentException e) {
            if (!e.getMessage().isEmpty()) {
                err.println("eventbus-client: " + e.getMessage());
            }
            err.println(USAGE_TEXT);
            return USAGE;
        }
        Vertx vertx;
        try {
            vertx = await(join(args.host(), args.port(), args.members()), JOIN_TIMEOUT_MS);
        } catch (Exception e) {
            err.println("eventbus-client: " + message(e));
            return JOIN_FAILED;
        }
        try {
            Buffer reply = await(request(vertx, args.app(), args.listener(), args.body(), args.timeoutMs()),
                    args.timeoutMs() + 5_000);
            if (args.raw()) {
                out.write(reply.getBytes(), 0, reply.length());
            } else {
                out.print(args.lineProtocol() ? reply.toString(StandardCharsets.UTF_8) : formatResp(reply));
            }
            out.flush();
            return OK;
        } catch (Exception e) {
            err.println("eventbus-client: " + message(e));
            return REQUEST_FAILED;
        } finally {
            try {
                await(vertx.close(), 30_000);
            } catch (Exception e) {
                err.println("eventbus-client: leaving the cluster: " + message(e));
            }
        }
    }

    public static void main(String[] args) {
        // Hazelcast logs every connection at INFO; its warnings still show.
        HAZELCAST_LOG.setLevel(Level.WARNING);
        System.exit(run(args, System.out, System.err));
    }

    private static <T> T await(Future<T> f, long timeoutMs) throws Exception {
        try {
            return f.toCompletionStage().toCompletableFuture().get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception c ? c : e;
        } catch (TimeoutException e) {
            throw new TimeoutException("gave up after " + timeoutMs + " ms");
        }
    }

    private static String message(Throwable e) {
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }
}
