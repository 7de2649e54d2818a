package io.replicode.launcher.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The inside half of {@link NetworkLab#forward}: run as root inside the lab's network namespace, it listens on a
 * Unix-domain socket (a path socket, so the test JVM outside the namespace can reach it) and relays each connection
 * to the TCP address named in its first frame. It exits when its standard input closes, that is when the test JVM
 * closes it or dies.
 *
 * <p>Both halves speak the same framing over the Unix socket, in each direction: a 4-byte big-endian length, then that
 * many bytes. Length 0 is end of stream (the sender's TCP peer half-closed: shut down output on the receiving side),
 * -1 is a reset (the sender's TCP peer reset or failed: close the receiving side's TCP socket abortively, so its peer
 * sees a reset). The test JVM's first frame is the target {@code host:port}; if the connect fails the forwarder
 * answers -1, so the outside client sees a reset, as it would on a refused connect.
 */
public final class NsForwarder {
    static final int EOF = 0;
    static final int RESET = -1;
    private static final int MAX_FRAME = 64 * 1024;
    private static final int CONNECT_TIMEOUT_MS = 5_000;

    private NsForwarder() {
    }

    /** {@code NsForwarder <unix socket path>}: prints "ready" once it listens. */
    public static void main(String[] args) throws IOException {
        Path path = Path.of(args[0]);
        Files.deleteIfExists(path);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        Thread lifeline = new Thread(() -> {
            try {
                InputStream in = System.in;
                byte[] buf = new byte[256];
                while (in.read(buf) >= 0) {
                    // nothing is ever written; wait for end of stream
                }
            } catch (IOException e) {
                // treated as end of stream
            }
            System.exit(0);
        }, "netlab-forwarder-lifeline");
        lifeline.setDaemon(true);
        lifeline.start();
        System.out.println("netlab-forwarder ready " + path);
        System.out.flush();
        while (true) {
            SocketChannel channel = server.accept();
            daemon("netlab-forwarder-connect", () -> serve(channel)).start();
        }
    }

    private static void serve(SocketChannel channel) {
        String target;
        try {
            byte[] header = readFrame(channel, ByteBuffer.allocate(4));
            if (header == null) {
                channel.close();
                return;
            }
            target = new String(header, StandardCharsets.UTF_8);
        } catch (IOException e) {
            closeQuietly(channel);
            return;
        }
        int colon = target.lastIndexOf(':');
        Socket tcp = new Socket();
        try {
            tcp.connect(new InetSocketAddress(target.substring(0, colon), Integer.parseInt(target.substring(colon + 1))),
                    CONNECT_TIMEOUT_MS);
        } catch (IOException | RuntimeException e) {
            closeQuietly(tcp);
            try {
                writeFrame(channel, RESET, null);
            } catch (IOException ignored) {
                // the outside half sees the close instead
            }
            closeQuietly(channel);
            return;
        }
        Relay.start(tcp, channel, "netlab-forwarder " + target, null);
    }

    /** The header frame {@link NetworkLab} sends first. */
    static void writeHeader(SocketChannel channel, String host, int port) throws IOException {
        byte[] target = (host + ":" + port).getBytes(StandardCharsets.UTF_8);
        writeFrame(channel, target.length, target);
    }

    static void writeFrame(SocketChannel channel, int length, byte[] data) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(4).putInt(length).flip();
        ByteBuffer body = ByteBuffer.wrap(data == null ? new byte[0] : data, 0, Math.max(length, 0));
        ByteBuffer[] both = {head, body};
        while (body.hasRemaining() || head.hasRemaining()) {
            channel.write(both);
        }
    }

    /** The next frame's length (or -1/0), reading its data into {@code data}; IOException at end of stream. */
    static int readFrame(SocketChannel channel, ByteBuffer head, ByteBuffer data) throws IOException {
        head.clear();
        readFully(channel, head);
        int length = head.flip().getInt();
        if (length < RESET || length > MAX_FRAME) {
            throw new IOException("bad frame length " + length);
        }
        data.clear().limit(Math.max(length, 0));
        readFully(channel, data);
        data.flip();
        return length;
    }

    private static byte[] readFrame(SocketChannel channel, ByteBuffer head) throws IOException {
        ByteBuffer data = ByteBuffer.allocate(MAX_FRAME);
        int length = readFrame(channel, head, data);
        if (length <= 0) {
            return null;
        }
        byte[] bytes = new byte[length];
        data.get(bytes);
        return bytes;
    }

    private static void readFully(SocketChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new IOException("relay socket closed");
            }
        }
    }

    static Thread daemon(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        return t;
    }

    static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing anyway
        }
    }

    /**
     * One TCP connection spliced to one Unix-socket connection carrying frames, two threads, one per direction.
     * The same on both halves: outside, the TCP side is the test's client; inside, it is the connection to the member.
     */
    static final class Relay {
        private final Socket tcp;
        private final SocketChannel unix;
        private final AtomicInteger directionsOpen = new AtomicInteger(2);
        private final AtomicBoolean closed = new AtomicBoolean();
        private final Set<Relay> registry;

        private Relay(Socket tcp, SocketChannel unix, Set<Relay> registry) {
            this.tcp = tcp;
            this.unix = unix;
            this.registry = registry;
        }

        /** Starts relaying; {@code registry}, if given, holds the relay until it ends, so its owner can abort it. */
        static void start(Socket tcp, SocketChannel unix, String name, Set<Relay> registry) {
            Relay relay = new Relay(tcp, unix, registry);
            if (registry != null) {
                registry.add(relay);
            }
            try {
                tcp.setTcpNoDelay(true);
            } catch (IOException e) {
                relay.abort();
                return;
            }
            daemon(name + " tcp->unix", relay::tcpToUnix).start();
            daemon(name + " unix->tcp", relay::unixToTcp).start();
        }

        static Set<Relay> newRegistry() {
            return ConcurrentHashMap.newKeySet();
        }

        private void tcpToUnix() {
            byte[] buf = new byte[MAX_FRAME];
            try {
                InputStream in = tcp.getInputStream();
                while (true) {
                    int n;
                    try {
                        n = in.read(buf);
                    } catch (IOException e) {
                        send(RESET, null);
                        abort();
                        return;
                    }
                    if (n < 0) {
                        send(EOF, null);
                        break;
                    }
                    send(n, buf);
                }
            } catch (IOException e) {
                abort();
                return;
            }
            directionDone();
        }

        private void unixToTcp() {
            ByteBuffer head = ByteBuffer.allocate(4);
            ByteBuffer data = ByteBuffer.allocate(MAX_FRAME);
            try {
                OutputStream out = tcp.getOutputStream();
                while (true) {
                    int n = readFrame(unix, head, data);
                    if (n == RESET) {
                        abort();
                        return;
                    }
                    if (n == EOF) {
                        tcp.shutdownOutput();
                        break;
                    }
                    out.write(data.array(), 0, n);
                }
            } catch (IOException e) {
                try {
                    send(RESET, null);
                } catch (IOException ignored) {
                    // the other half sees the close instead
                }
                abort();
                return;
            }
            directionDone();
        }

        private synchronized void send(int length, byte[] data) throws IOException {
            writeFrame(unix, length, data);
        }

        private void directionDone() {
            if (directionsOpen.decrementAndGet() == 0) {
                finish(false);
            }
        }

        /** Closes both sockets, the TCP one with a reset. */
        void abort() {
            finish(true);
        }

        private void finish(boolean reset) {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            if (reset) {
                try {
                    tcp.setSoLinger(true, 0);
                } catch (IOException ignored) {
                    // closed already
                }
            }
            closeQuietly(tcp);
            closeQuietly(unix);
            if (registry != null) {
                registry.remove(this);
            }
        }
    }
}
