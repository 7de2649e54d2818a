package io.replicode.launcher.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Writer;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link NetworkLab} with three echo servers ({@link EchoServer}), each run as its member's uid on its address: members
 * reach each other from their own addresses, a cut stops new and established connections both ways across it and
 * nothing else, heal restores both, and the test JVM reaches every member through {@link NetworkLab#forward}.
 * Skipped, with the reason, where a lab cannot run (not root, tools missing).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NetworkLabTest {
    private static final int PORT = 7000;
    private static final List<String> SMALL_JVM = List.of("-Xmx32m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-XX:-UsePerfData", "-Xshare:auto");

    private NetworkLab lab;
    private Path dir;
    private final List<Process> processes = new ArrayList<>();

    @BeforeAll
    void startLabWithThreeEchoServers(@TempDir Path tmp) throws Exception {
        Optional<String> reason = NetworkLab.unavailableReason();
        Assumptions.assumeTrue(reason.isEmpty(), () -> "no network lab here: " + reason.orElse(""));
        dir = tmp;
        lab = NetworkLab.start(3, tmp.resolve("lab"));
        List<Path> outputs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Path out = dir.resolve("echo-" + i + ".out");
            outputs.add(out);
            processes.add(lab.member(i, NetworkLab.java(SMALL_JVM, EchoServer.class, "serve", lab.address(i),
                    Integer.toString(PORT))).redirectErrorStream(true).redirectOutput(out.toFile()).start());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (int i = 0; i < 3; i++) {
            Path out = outputs.get(i);
            while (!Files.readString(out).contains("listening")) {
                assertTrue(processes.get(i).isAlive(), () -> "echo server exited: " + read(out));
                assertTrue(System.nanoTime() < deadline, "echo servers not listening within 20 s");
                Thread.sleep(20);
            }
        }
    }

    @AfterEach
    void heal() throws IOException {
        if (lab != null) {
            lab.heal();
        }
    }

    @AfterAll
    void stop() throws InterruptedException {
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        if (lab != null) {
            lab.close();
        }
    }

    @Test
    void membersReachEachOtherFromTheirOwnAddresses() throws Exception {
        assertEquals("reply 127.0.0.11 hello", send(0, 1, "hello"));
        assertEquals("reply 127.0.0.13 hi", send(2, 0, "hi"));
        assertEquals("reply 127.0.0.1 root", sendAsRoot(1, "root"));
    }

    @Test
    void cutStopsNewConnectionsBothWaysAcrossItAndHealRestoresThem() throws Exception {
        lab.cut(Set.of(0));
        // Run concurrently: each client is a JVM.
        List<Process> clients = new ArrayList<>();
        int[][] pairs = {{0, 1}, {0, 2}, {1, 0}, {2, 0}, {1, 2}, {2, 1}};
        for (int[] p : pairs) {
            clients.add(startSend(p[0], p[1], "m" + p[0] + p[1]));
        }
        for (int k = 0; k < pairs.length; k++) {
            String out = output(clients.get(k));
            String pair = pairs[k][0] + "->" + pairs[k][1];
            if (k < 4) {
                assertTrue(out.startsWith("error java.net.SocketException: Network is unreachable"), pair + ": " + out);
            } else {
                assertEquals("reply " + lab.address(pairs[k][0]) + " m" + pairs[k][0] + pairs[k][1], out, pair);
            }
        }
        // Root (clients, the forwarder) is never cut.
        assertEquals("reply 127.0.0.1 root", sendAsRoot(0, "root"));
        assertEquals("through", viaForward(0, "through"));

        lab.heal();
        assertEquals("reply 127.0.0.11 again", send(0, 1, "again"));
        assertEquals("reply 127.0.0.13 back", send(2, 0, "back"));
    }

    @Test
    void establishedConnectionStallsDuringCutAndResumesAfterHeal() throws Exception {
        Process pinger = lab.member(0, NetworkLab.java(SMALL_JVM, EchoServer.class, "ping", lab.address(1),
                Integer.toString(PORT))).redirectErrorStream(true).start();
        processes.add(pinger);
        BufferedReader replies = new BufferedReader(new InputStreamReader(pinger.getInputStream(), StandardCharsets.UTF_8));
        Writer pings = new java.io.OutputStreamWriter(pinger.getOutputStream(), StandardCharsets.UTF_8);
        assertEquals("connected 127.0.0.11", nextLine(replies));
        assertEquals("ok p0", ping(pings, replies, "p0"));

        lab.cut(Set.of(1));
        assertEquals("timeout p1", ping(pings, replies, "p1"));
        assertEquals("timeout p2", ping(pings, replies, "p2"));

        lab.heal();
        long healed = System.nanoTime();
        String reply = "";
        for (int k = 3; k < 20 && !reply.startsWith("ok"); k++) {
            reply = ping(pings, replies, "p" + k);
            assertFalse(reply.startsWith("error"), reply);
        }
        assertTrue(reply.startsWith("ok"), "the connection did not resume after heal: " + reply);
        System.out.printf("established connection resumed %d ms after heal%n", (System.nanoTime() - healed) / 1_000_000);
        pings.close();
        assertTrue(pinger.waitFor(10, TimeUnit.SECONDS));
    }

    @Test
    void forwardReachesEveryMemberWithHalfCloseAndResets() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertEquals("forwarded " + i, viaForward(i, "forwarded " + i));
        }
        // Nothing listens there: the connect inside fails, the client outside sees a reset or an end of stream.
        int refused = lab.forward(lab.address(1), PORT + 1);
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), refused)) {
            s.setSoTimeout(5_000);
            try {
                assertEquals(-1, s.getInputStream().read());
            } catch (SocketException e) {
                assertTrue(e.getMessage().contains("reset"), e.toString());
            }
        }
    }

    private String viaForward(int member, String text) throws IOException {
        int port = lab.forward(lab.address(member), PORT);
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(5_000);
            OutputStream out = s.getOutputStream();
            out.write(text.getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            // readAllBytes ends only if the echo server's close came back through the relay.
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private String send(int from, int to, String text) throws Exception {
        return output(startSend(from, to, text));
    }

    private Process startSend(int from, int to, String text) throws IOException {
        return lab.member(from, NetworkLab.java(SMALL_JVM, EchoServer.class, "send", lab.address(to),
                Integer.toString(PORT), text)).redirectErrorStream(true).start();
    }

    private String sendAsRoot(int to, String text) throws Exception {
        return output(lab.root(NetworkLab.java(SMALL_JVM, EchoServer.class, "send", lab.address(to),
                Integer.toString(PORT), text)).redirectErrorStream(true).start());
    }

    /** The client's one "reply"/"error" line, once it exited. */
    private static String output(Process p) throws Exception {
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("client did not exit within 20 s");
        }
        String all = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return all.lines().filter(l -> l.startsWith("reply ") || l.startsWith("error ")).findFirst()
                .orElse("(no reply line) " + all);
    }

    private static String ping(Writer pings, BufferedReader replies, String line) throws IOException {
        pings.write(line + "\n");
        pings.flush();
        return nextLine(replies);
    }

    /** The next line of the pinger's protocol, skipping anything else the JVM prints. */
    private static String nextLine(BufferedReader replies) throws IOException {
        for (int k = 0; k < 100; k++) {
            String line = replies.readLine();
            if (line == null) {
                return "error end of pinger output";
            }
            if (line.startsWith("ok ") || line.startsWith("timeout ") || line.startsWith("error ")
                    || line.startsWith("connected ")) {
                return line;
            }
        }
        return "error no protocol line";
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
