package io.replicode.launcher.cluster;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Network partitions between real processes on one Linux machine, for tests. Needs root and nothing beyond util-linux
 * ({@code unshare}, {@code nsenter}, {@code setpriv}), iproute2 ({@code ip}) and coreutils; {@link #unavailableReason}
 * says why a test should skip otherwise.
 *
 * <p>{@link #start} creates a fresh network namespace held by one process ({@code unshare --net timeout 3h cat},
 * whose standard input is a pipe from this JVM, so it also ends when this JVM dies). Member {@code i} runs inside it
 * ({@link #member}) as its own uid {@code 20000+i} and every socket it opens leaves from its own address
 * {@code 127.0.0.(11+i)} ({@link #address}). {@link #cut} and {@link #heal} add and remove per-uid routing rules, so
 * traffic between members on either side of a cut is stopped both ways, including connections already established.
 * The test JVM stays outside the namespace and reaches members through {@link #forward}.
 *
 * <h2>The recipe, as run inside the namespace ({@code nsenter -t <holder> -n ip -batch -})</h2>
 * <pre>
 * link set lo up
 * route add local 127.0.0.0/8 dev lo src 127.0.0.1 table 210       # everyone else (root) leaves from 127.0.0.1
 * rule add pref 60 lookup 210
 * addr add 127.0.0.11/32 dev lo                                      # per member i: address 127.0.0.(11+i),
 * route add local 127.0.0.0/8 dev lo src 127.0.0.11 table 211        #   table 211+i, uid 20000+i
 * rule add pref 50 uidrange 20000-20000 lookup 211
 * rule add pref 100 lookup local                                     # the local table moves behind
 * rule del pref 0
 * </pre>
 * A cut adds, for each ordered pair (a, b) of members on different sides,
 * {@code rule add pref 10 uidrange Ua-Ua to ADDRb/32 unreachable}, and {@link #heal} deletes exactly those rules.
 * Both directions are needed: a's rule stops what a sends, b's rule stops b's replies (to a's address, since a's
 * sockets leave from it). The rules match on the sending socket's uid, so they act on output route lookups; loopback
 * keeps the output route for delivery, so there is no input lookup to worry about. Adding or deleting a rule flushes
 * the route cache, so established connections re-route on their next packet.
 *
 * <p>What a cut does to TCP between the two sides (checked on Linux 6.18): a new {@code connect} fails at once with
 * "Network is unreachable"; an established connection stalls (nothing arrives either way, reads time out, writes
 * queue up) without being reset. After {@link #heal} it resumes with nothing lost, at once on the sender's next write,
 * otherwise when its retransmission timer fires, which backs off exponentially during the cut: about 0.5 s after a
 * 3 s cut, 3.5 s after a 10 s cut, 24 s after a 30 s cut (capped at 120 s by TCP).
 *
 * <p>Changes from the plain recipe, and why:
 * <ul>
 *   <li>Root gets table 210 ({@code src 127.0.0.1}): the kernel's local table routes {@code 127.0.0.12} with
 *       {@code src 127.0.0.12}, so a root client (or the forwarder) connecting to a member would otherwise leave from
 *       the member's own address. With it, clients and forwarded connections come from 127.0.0.1 and no cut ever
 *       matches them (cuts only name member uids).</li>
 *   <li>{@code unreachable} rather than {@code blackhole}: both stop the packets the same way (an established
 *       connection stalls and resumes after {@link #heal}, as described above), but a new {@code connect} fails at
 *       once with {@code ENETUNREACH} ("Network is unreachable") rather than {@code EINVAL} ("Invalid argument"),
 *       which reads like a programming error in logs. Neither gives the connect timeout of a real partition: packets
 *       cannot be dropped silently without netfilter or tc actions, which are not always there (they are not on the
 *       machine this was written on).</li>
 *   <li>Members keep {@code CAP_DAC_READ_SEARCH} ({@code setpriv --inh-caps +dac_read_search --ambient-caps
 *       +dac_read_search}), so they read the test class path wherever it is (under {@code /root/.m2}, mode 0700, here)
 *       without changing any permission on the machine. They can read any file but write only where their uid may:
 *       {@link #start} creates {@link #dir} for each member, owned by its uid.</li>
 * </ul>
 *
 * <p>Limits: IPv4 only (a member reached on {@code ::1} or {@code localhost} resolving to it is never cut), and only
 * traffic addressed to members' addresses is cut (a member connecting to {@code 127.0.0.1} is not). Packets the kernel
 * sends without a full socket (a reset for an unknown connection, a TIME_WAIT ack) carry uid 0 and are not cut. The
 * uids are fixed ({@code 20000+i}); processes of other labs or users with those uids outside the namespace do not
 * matter, and labs in one JVM or several are independent (each has its own namespace). The caller starts and must
 * stop its member processes, even if the test fails, before {@link #close}: a member still running keeps the namespace
 * alive (close prints a warning naming them), and one left behind by a killed test JVM runs on. {@code nsenter} and
 * {@code setpriv} exec without forking, so the pid of a started {@link #member} process is the command's own and
 * {@code Process.destroy} reaches it. The forwarder and the holder end when this JVM ends, however it ends.
 */
public final class NetworkLab implements AutoCloseable {
    /** Member i runs as uid {@code FIRST_UID + i}. */
    public static final int FIRST_UID = 20000;
    private static final int FIRST_HOST = 11;
    private static final int ROOT_TABLE = 210;
    private static final int FIRST_TABLE = 211;
    private static final int MAX_MEMBERS = 100;
    private static final String HOLDER_LIFETIME = "3h";
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration HOLDER_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration FORWARDER_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);
    private static final List<String> MEMBER_CAPS = List.of("--inh-caps", "+dac_read_search", "--ambient-caps",
            "+dac_read_search");

    private static Optional<String> unavailable;
    private static Tools tools;

    private final int members;
    private final Path workDir;
    private final Path log;
    private Process holder;
    private String namespace;
    private final Set<Link> cuts = new LinkedHashSet<>();
    private Process forwarder;
    private Path socketDir;
    private final List<ServerSocket> listeners = new CopyOnWriteArrayList<>();
    private final Set<NsForwarder.Relay> relays = NsForwarder.Relay.newRegistry();
    private volatile boolean closed;

    private record Tools(String unshare, String nsenter, String setpriv, String ip, String timeout, String cat) {
    }

    /** One direction of a cut: what member {@code from} sends to member {@code to}'s address. */
    private record Link(int from, int to) {
    }

    private NetworkLab(int members, Path workDir) {
        this.members = members;
        this.workDir = workDir;
        this.log = workDir.resolve("netlab.log");
    }

    /**
     * Why a lab cannot run here (not Linux, not root, a tool missing, no network namespace or uid routing rules), or
     * empty if it can; for {@code Assumptions.assumeTrue(reason.isEmpty(), ...)}. Checked once per JVM.
     */
    public static synchronized Optional<String> unavailableReason() {
        if (unavailable == null) {
            unavailable = probe();
        }
        return unavailable;
    }

    private static Optional<String> probe() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return Optional.of("network labs need Linux, this is " + System.getProperty("os.name"));
        }
        try {
            String uid = Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:")).findFirst().orElse("Uid: ?").split("\\s+")[1];
            if (!uid.equals("0")) {
                return Optional.of("network labs need root (network namespaces, routing rules, setpriv), uid is " + uid);
            }
        } catch (IOException e) {
            return Optional.of("cannot read /proc/self/status: " + e);
        }
        List<String> found = new ArrayList<>();
        for (String name : List.of("unshare", "nsenter", "setpriv", "ip", "timeout", "cat")) {
            Optional<String> path = which(name);
            if (path.isEmpty()) {
                return Optional.of("network labs need " + name + " (util-linux, iproute2, coreutils), not found on PATH");
            }
            found.add(path.get());
        }
        Tools t = new Tools(found.get(0), found.get(1), found.get(2), found.get(3), found.get(4), found.get(5));
        try {
            // A throwaway namespace with one uid rule: checks unshare, the namespace and uidrange rules (Linux 4.10+).
            run(List.of(t.unshare, "--net", "--", t.ip, "rule", "add", "pref", "50", "uidrange",
                    FIRST_UID + "-" + FIRST_UID, "lookup", Integer.toString(FIRST_TABLE)), null);
            List<String> asMember = new ArrayList<>(List.of(t.setpriv, "--reuid", Integer.toString(FIRST_UID),
                    "--regid", Integer.toString(FIRST_UID), "--clear-groups"));
            asMember.addAll(MEMBER_CAPS);
            asMember.addAll(List.of("--", t.ip, "-V"));
            run(asMember, null);
        } catch (IOException e) {
            return Optional.of("network labs cannot run here: " + e.getMessage());
        }
        tools = t;
        return Optional.empty();
    }

    private static Optional<String> which(String name) {
        Set<String> dirs = new LinkedHashSet<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        dirs.addAll(List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin"));
        return dirs.stream().filter(d -> !d.isEmpty()).map(d -> Path.of(d, name))
                .filter(Files::isExecutable).map(Path::toString).findFirst();
    }

    /**
     * Creates the namespace and the routing for {@code members} members, and {@code workDir/member-i} for each,
     * owned by its uid; the lab's own processes log to {@code workDir/netlab.log}.
     *
     * @throws IllegalStateException with {@link #unavailableReason} if a lab cannot run here
     */
    public static NetworkLab start(int members, Path workDir) throws IOException {
        Optional<String> reason = unavailableReason();
        if (reason.isPresent()) {
            throw new IllegalStateException(reason.get());
        }
        if (members < 1 || members > MAX_MEMBERS) {
            throw new IllegalArgumentException("members must be 1.." + MAX_MEMBERS + ", not " + members);
        }
        NetworkLab lab = new NetworkLab(members, workDir);
        try {
            lab.setUp();
        } catch (IOException | RuntimeException e) {
            lab.close();
            throw e;
        }
        return lab;
    }

    private void setUp() throws IOException {
        Files.createDirectories(workDir);
        for (int i = 0; i < members; i++) {
            Path dir = dir(i);
            Files.createDirectories(dir);
            Files.setAttribute(dir, "unix:uid", uid(i));
            Files.setAttribute(dir, "unix:gid", uid(i));
        }
        holder = new ProcessBuilder(tools.unshare, "--net", "--", tools.timeout, HOLDER_LIFETIME, tools.cat)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        String ours = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
        long deadline = System.nanoTime() + HOLDER_TIMEOUT.toNanos();
        while (true) {
            if (!holder.isAlive()) {
                throw new IOException("the namespace holder exited with " + holder.exitValue() + ": " + logText());
            }
            try {
                String theirs = Files.readSymbolicLink(Path.of("/proc", Long.toString(holder.pid()), "ns", "net")).toString();
                if (!theirs.equals(ours)) {
                    namespace = theirs;
                    break;
                }
            } catch (IOException e) {
                // not there yet
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("the namespace holder had no namespace of its own after " + HOLDER_TIMEOUT);
            }
            sleep(5);
        }
        List<String> batch = new ArrayList<>();
        batch.add("link set lo up");
        batch.add("route add local 127.0.0.0/8 dev lo src 127.0.0.1 table " + ROOT_TABLE);
        batch.add("rule add pref 60 lookup " + ROOT_TABLE);
        for (int i = 0; i < members; i++) {
            batch.add("addr add " + address(i) + "/32 dev lo");
            batch.add("route add local 127.0.0.0/8 dev lo src " + address(i) + " table " + (FIRST_TABLE + i));
            batch.add("rule add pref 50 uidrange " + uid(i) + "-" + uid(i) + " lookup " + (FIRST_TABLE + i));
        }
        batch.add("rule add pref 100 lookup local");
        batch.add("rule del pref 0");
        ipBatch(batch);
    }

    public int members() {
        return members;
    }

    /** Member i's address, {@code 127.0.0.(11+i)}: its sockets leave from it, and it should listen on it. */
    public String address(int i) {
        checkMember(i);
        return "127.0.0." + (FIRST_HOST + i);
    }

    /** Member i's uid. */
    public int uid(int i) {
        checkMember(i);
        return FIRST_UID + i;
    }

    /** {@code workDir/member-i}, owned by member i's uid: its data, and the working directory of {@link #member}. */
    public Path dir(int i) {
        checkMember(i);
        return workDir.resolve("member-" + i);
    }

    /**
     * A process builder running {@code command} inside the namespace as member i, in {@link #dir}, HOME there; the
     * caller sets redirects, starts it, and stops it before {@link #close}.
     */
    public ProcessBuilder member(int i, List<String> command) {
        checkOpen();
        List<String> cmd = new ArrayList<>(List.of(tools.nsenter, "-t", Long.toString(holder.pid()), "-n",
                tools.setpriv, "--reuid", Integer.toString(uid(i)), "--regid", Integer.toString(uid(i)), "--clear-groups"));
        cmd.addAll(MEMBER_CAPS);
        cmd.add("--");
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir(i).toFile());
        pb.environment().put("HOME", dir(i).toString());
        return pb;
    }

    /**
     * A process builder running {@code command} inside the namespace as root: a client, whose sockets leave from
     * 127.0.0.1 and are never cut.
     */
    public ProcessBuilder root(List<String> command) {
        checkOpen();
        List<String> cmd = new ArrayList<>(List.of(tools.nsenter, "-t", Long.toString(holder.pid()), "-n", "--"));
        cmd.addAll(command);
        return new ProcessBuilder(cmd);
    }

    /** {@code java <jvmOptions> -cp <this JVM's class path> <main> <args>}, for {@link #member} or {@link #root}. */
    public static List<String> java(List<String> jvmOptions, Class<?> main, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Cuts every member in {@code sideA} off from every member not in it, both ways; cuts already made stay. */
    public synchronized void cut(Set<Integer> sideA) throws IOException {
        sideA.forEach(this::checkMember);
        List<Link> links = new ArrayList<>();
        for (int a : sideA) {
            for (int b = 0; b < members; b++) {
                if (!sideA.contains(b)) {
                    links.add(new Link(a, b));
                    links.add(new Link(b, a));
                }
            }
        }
        addCuts(links);
    }

    /** Cuts the link between members a and b, both ways; cuts already made stay. */
    public synchronized void cut(int a, int b) throws IOException {
        checkMember(a);
        checkMember(b);
        if (a == b) {
            throw new IllegalArgumentException("a member cannot be cut from itself");
        }
        addCuts(List.of(new Link(a, b), new Link(b, a)));
    }

    private void addCuts(List<Link> links) throws IOException {
        checkOpen();
        List<Link> fresh = links.stream().filter(l -> !cuts.contains(l)).distinct().toList();
        if (fresh.isEmpty()) {
            return;
        }
        ipBatch(fresh.stream().map(l -> "rule add " + rule(l)).toList());
        cuts.addAll(fresh);
    }

    /** Removes every cut. */
    public synchronized void heal() throws IOException {
        checkOpen();
        if (cuts.isEmpty()) {
            return;
        }
        ipBatch(cuts.stream().map(l -> "rule del " + rule(l)).toList());
        cuts.clear();
    }

    private String rule(Link l) {
        return "pref 10 uidrange " + uid(l.from) + "-" + uid(l.from) + " to " + address(l.to) + "/32 unreachable";
    }

    /**
     * A port on 127.0.0.1 in this JVM's own namespace; each connection to it is relayed to {@code host:port} inside the
     * namespace, from 127.0.0.1 as root, so cuts never stop it. End of stream (half-close) is relayed both ways; a
     * reset, or a failed connect inside, reaches the other end as a reset. The first call starts the forwarder (a JVM,
     * about a second).
     */
    public synchronized int forward(String host, int port) throws IOException {
        checkOpen();
        startForwarder();
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        listeners.add(server);
        Path socket = socketDir.resolve("forwarder.sock");
        String name = "netlab-forward " + server.getLocalPort() + "->" + host + ":" + port;
        NsForwarder.daemon(name, () -> {
            while (!closed) {
                Socket client;
                try {
                    client = server.accept();
                } catch (IOException e) {
                    return; // closed
                }
                try {
                    SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
                    try {
                        channel.connect(UnixDomainSocketAddress.of(socket));
                        NsForwarder.writeHeader(channel, host, port);
                    } catch (IOException e) {
                        channel.close();
                        throw e;
                    }
                    NsForwarder.Relay.start(client, channel, name, relays);
                    if (closed) {
                        List.copyOf(relays).forEach(NsForwarder.Relay::abort); // raced with close()
                    }
                } catch (IOException e) {
                    reset(client);
                }
            }
        }).start();
        return server.getLocalPort();
    }

    private void startForwarder() throws IOException {
        if (forwarder != null) {
            return;
        }
        socketDir = Files.createTempDirectory("netlab");
        Path socket = socketDir.resolve("forwarder.sock");
        forwarder = root(java(List.of("-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData"),
                NsForwarder.class, socket.toString()))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        String ready = "netlab-forwarder ready " + socket;
        long deadline = System.nanoTime() + FORWARDER_TIMEOUT.toNanos();
        while (!logText().contains(ready)) {
            if (!forwarder.isAlive()) {
                throw new IOException("the forwarder exited with " + forwarder.exitValue() + ": " + logText());
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("the forwarder was not ready after " + FORWARDER_TIMEOUT + ": " + logText());
            }
            sleep(20);
        }
    }

    /**
     * Stops the forwarder, its relays and listeners, and the namespace holder, so the namespace goes once no member
     * runs in it. Member processes are the caller's: any still in the namespace are named on stderr, not killed.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        listeners.forEach(NsForwarder::closeQuietly);
        List.copyOf(relays).forEach(NsForwarder.Relay::abort);
        stop(forwarder);
        List<Long> left = namespace == null ? List.of() : pidsInNamespace();
        stop(holder);
        if (socketDir != null) {
            try (Stream<Path> files = Files.walk(socketDir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // a temp dir left behind
            }
        }
        left = left.stream().filter(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).toList();
        if (!left.isEmpty()) {
            System.err.println("NetworkLab.close: processes still in the namespace, keeping it alive: " + left);
        }
    }

    /** Closes its standard input (the holder and forwarder end on that), then SIGTERM, then SIGKILL, all bounded. */
    private static void stop(Process p) {
        if (p == null) {
            return;
        }
        List<ProcessHandle> children = p.toHandle().descendants().toList();
        try {
            OutputStream in = p.getOutputStream();
            in.close();
            if (!p.waitFor(STOP_TIMEOUT.toMillis() / 5, TimeUnit.MILLISECONDS)) {
                p.destroy();
                if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                }
            }
        } catch (IOException | InterruptedException e) {
            p.destroyForcibly();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
        }
        for (ProcessHandle child : children) {
            if (child.isAlive()) {
                child.destroyForcibly();
            }
        }
    }

    private List<Long> pidsInNamespace() {
        List<Long> pids = new ArrayList<>();
        try (DirectoryStream<Path> proc = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString()
                .chars().allMatch(Character::isDigit))) {
            for (Path p : proc) {
                try {
                    if (Files.readSymbolicLink(p.resolve("ns").resolve("net")).toString().equals(namespace)) {
                        pids.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException | RuntimeException e) {
                    // gone, or not ours to read
                }
            }
        } catch (IOException e) {
            // no list, no warning
        }
        return pids;
    }

    private static void reset(Socket s) {
        try {
            s.setSoLinger(true, 0);
        } catch (IOException ignored) {
            // closed already
        }
        NsForwarder.closeQuietly(s);
    }

    private void ipBatch(List<String> commands) throws IOException {
        run(List.of(tools.nsenter, "-t", Long.toString(holder.pid()), "-n", tools.ip, "-batch", "-"),
                String.join("\n", commands) + "\n");
    }

    /** Runs a short command, bounded by {@link #COMMAND_TIMEOUT}; IOException with its output unless it exits 0. */
    private static String run(List<String> cmd, String stdin) throws IOException {
        Path out = Files.createTempFile("netlab-cmd", ".out");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            try (OutputStream in = p.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            boolean exited;
            try {
                exited = p.waitFor(COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                exited = false;
            }
            String output = Files.readString(out, StandardCharsets.UTF_8).trim();
            if (!exited) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not exit within " + COMMAND_TIMEOUT + ": " + output);
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + (stdin == null ? "" : " <<< " + stdin.trim().replace('\n', ';'))
                        + " exited with " + p.exitValue() + ": " + output);
            }
            return output;
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private String logText() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(" + e + ")";
        }
    }

    private void checkMember(int i) {
        if (i < 0 || i >= members) {
            throw new IndexOutOfBoundsException("member " + i + " of " + members);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the lab is closed");
        }
        Objects.requireNonNull(holder, "the lab is not started");
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
