package io.replicode.launcher.cluster;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A tiny TCP tool for {@link NetworkLabTest}, run inside a {@link NetworkLab}:
 * <ul>
 *   <li>{@code serve HOST PORT}: echoes every connection until end of stream, then closes it; prints "listening".</li>
 *   <li>{@code send HOST PORT TEXT}: connects (3 s timeout), sends TEXT, half-closes, reads the reply to its end (3 s
 *       timeout); prints "reply FROM TEXT" (FROM, its own address) and exits 0, or "error EXCEPTION" and exits 1.</li>
 *   <li>{@code ping HOST PORT}: one connection; for each line on stdin, sends it and waits up to 1 s for its echo,
 *       printing "ok LINE" or "timeout LINE" (late echoes of earlier lines are skipped); "error EXCEPTION" ends it.</li>
 * </ul>
 */
public final class EchoServer {
    private EchoServer() {
    }

    public static void main(String[] args) throws Exception {
        String host = args[1];
        int port = Integer.parseInt(args[2]);
        switch (args[0]) {
            case "serve" -> serve(host, port);
            case "send" -> System.exit(send(host, port, args[3]) ? 0 : 1);
            case "ping" -> ping(host, port);
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    private static void serve(String host, int port) throws IOException {
        ServerSocket server = new ServerSocket(port, 50, InetAddress.getByName(host));
        System.out.println("listening " + server.getLocalSocketAddress());
        System.out.flush();
        while (true) {
            Socket s = server.accept();
            Thread t = new Thread(() -> {
                try (s) {
                    s.getInputStream().transferTo(s.getOutputStream());
                    s.shutdownOutput();
                } catch (IOException e) {
                    // the peer went away
                }
            }, "echo " + s.getRemoteSocketAddress());
            t.setDaemon(true);
            t.start();
        }
    }

    private static boolean send(String host, int port, String text) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 3_000);
            s.setSoTimeout(3_000);
            s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            System.out.println("reply " + s.getLocalAddress().getHostAddress() + " " + reply);
            return true;
        } catch (IOException e) {
            System.out.println("error " + e);
            return false;
        }
    }

    private static void ping(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 3_000);
            s.setSoTimeout(200);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            StringBuilder received = new StringBuilder();
            byte[] buf = new byte[4096];
            System.out.println("connected " + s.getLocalAddress().getHostAddress());
            System.out.flush();
            String line;
            while ((line = stdin.readLine()) != null) {
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                String expect = line + "\n";
                long deadline = System.nanoTime() + 1_000_000_000L;
                boolean ok = false;
                while (!ok && System.nanoTime() < deadline) {
                    try {
                        int n = in.read(buf);
                        if (n < 0) {
                            throw new IOException("end of stream");
                        }
                        received.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                    } catch (SocketTimeoutException e) {
                        // look again until the deadline
                    }
                    int at = received.indexOf(expect);
                    if (at >= 0 && (at == 0 || received.charAt(at - 1) == '\n')) {
                        received.delete(0, at + expect.length());
                        ok = true;
                    }
                }
                System.out.println((ok ? "ok " : "timeout ") + line);
                System.out.flush();
            }
        } catch (IOException e) {
            System.out.println("error " + e);
        }
    }
}
