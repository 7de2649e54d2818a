package io.replicode.launcher;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A service guests connect out to in tests, on loopback: it reads each connection to its end and answers it upper-cased
 * ({@link #upper}), or holds it open without answering until closed ({@link #holding}). It counts the connections it
 * accepted, which is what shows that a guest connect became one real connection whatever the number of replicas.
 */
public final class UpstreamServer implements AutoCloseable {
    private static final int READ_TIMEOUT_MS = 60_000;

    private final ServerSocket server;
    private final boolean answer;
    private final AtomicInteger accepted = new AtomicInteger();
    private final List<Socket> held = new CopyOnWriteArrayList<>();

    private UpstreamServer(boolean answer) throws IOException {
        this.answer = answer;
        server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread t = new Thread(this::serve, "upstream-" + server.getLocalPort());
        t.setDaemon(true);
        t.start();
    }

    /** Answers each connection, once the client half-closed, with what it sent upper-cased, then closes. */
    public static UpstreamServer upper() throws IOException {
        return new UpstreamServer(true);
    }

    /** Accepts and never answers: connections stay open until the client goes or this closes. */
    public static UpstreamServer holding() throws IOException {
        return new UpstreamServer(false);
    }

    public int port() {
        return server.getLocalPort();
    }

    public int accepted() {
        return accepted.get();
    }

    /** Whether every connection this server holds was closed or reset by the other side (bounded wait). */
    public boolean heldConnectionsEnded(long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        for (Socket s : held) {
            while (true) {
                try {
                    s.setSoTimeout(100);
                    if (s.getInputStream().read() < 0) {
                        break;
                    }
                } catch (java.net.SocketTimeoutException e) {
                    if (System.nanoTime() > deadline) {
                        return false;
                    }
                } catch (IOException e) {
                    break; // reset
                }
            }
        }
        return true;
    }

    private void serve() {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            accepted.incrementAndGet();
            if (!answer) {
                held.add(s);
                continue;
            }
            try (s) {
                s.setSoTimeout(READ_TIMEOUT_MS);
                String in = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                s.getOutputStream().write(in.toUpperCase(java.util.Locale.ROOT).getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                // the client went away
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : held) {
            s.close();
        }
    }
}
