package io.replicode.gateway.tcp;

import io.netty.channel.ConnectTimeoutException;
import io.replicode.nat.Addresses;
import io.replicode.nat.CodecException;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.nat.OutputBatch;
import io.replicode.sequencer.Companion;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one place a guest's outbound connections become real: it runs beside the app's sequencer
 * ({@link Companion}), so exactly one member opens them, and what happens to them (connected or the errno it failed
 * with, the bytes that come back, the upstream's FIN or reset) goes into frames as the sequencer's own events. Every
 * replica therefore sees the same thing at the same frame, and a replay needs no upstream.
 *
 * <p>Every replica sends the same outputs ({@link Output.Connect}, sends, closes, windows, resets); a frame's outputs
 * are acted on once, from the first replica whose batch for that frame arrives, and a send once per stream offset.
 * Bytes from the upstream are passed on no faster than the guest's receive window allows: reading pauses until the
 * guest consumed them ({@link Output.Window}). Each write to the upstream that completes grants the guest that much
 * more to send ({@link IngressEvent.Window}).
 *
 * <p>Name resolution happens here, with the JVM's resolver, and the address connected to is recorded in
 * {@link IngressEvent.Connected}. Counters are read by {@link #status}.
 */
public final class UpstreamConnector implements Companion {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(UpstreamConnector.class);

    /** WASI errnos a guest's connect gets (the connector cannot see the machine module's Errno class). */
    static final int HOSTUNREACH = 23;
    static final int CONNREFUSED = 14;
    static final int NETUNREACH = 40;
    static final int TIMEDOUT = 73;
    static final int IO = 29;

    private final Vertx vertx;
    /** Everything here runs on this one context: the event-bus consumer, the connections' handlers. */
    private final io.vertx.core.Context context;
    private final String app;
    private final long connectTimeoutMs;
    private final int receiveWindow;
    private final Map<Long, Upstream> open = new HashMap<>();
    private final AtomicLong connects = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong bytesOut = new AtomicLong();
    private final AtomicLong bytesIn = new AtomicLong();
    private NetClient client;
    private MessageConsumer<Buffer> consumer;
    private Sink sink;
    private long epoch = -1;
    /** The last frame whose outputs were acted on: later copies of it and of earlier frames are the other replicas'. */
    private long lastSeq;

    /**
     * @param connectTimeoutMs how long an upstream may take to accept before the guest's connect fails with TIMEDOUT
     * @param receiveWindow    the guest's receive buffer: bytes passed on before it consumed any
     */
    public UpstreamConnector(Vertx vertx, String app, long connectTimeoutMs, int receiveWindow) {
        this.vertx = vertx;
        this.context = vertx.getOrCreateContext();
        this.app = app;
        this.connectTimeoutMs = connectTimeoutMs;
        this.receiveWindow = receiveWindow;
    }

    @Override
    public void start(long epoch, long firstSeq, Sink sink) {
        context.runOnContext(v -> {
            stopNow();
            this.epoch = epoch;
            this.lastSeq = firstSeq - 1;
            this.sink = sink;
            this.client = vertx.createNetClient(new NetClientOptions()
                    .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeoutMs)).setTcpNoDelay(true));
            this.consumer = vertx.eventBus().consumer(Addresses.upstreams(app), m -> onOutputs(m.body()));
        });
    }

    @Override
    public void stop() {
        context.runOnContext(v -> stopNow());
    }

    private void stopNow() {
        if (consumer != null) {
            consumer.unregister();
            consumer = null;
        }
        for (Upstream u : open.values()) {
            u.abort();
        }
        open.clear();
        if (client != null) {
            client.close();
            client = null;
        }
        sink = null;
    }

    /** Connects made, failed, and bytes each way, for the sequencer's status. */
    @Override
    public io.vertx.core.json.JsonObject status() {
        return new io.vertx.core.json.JsonObject().put("connects", connects.get()).put("failedConnects", failures.get())
                .put("bytesToUpstreams", bytesOut.get()).put("bytesFromUpstreams", bytesIn.get());
    }

    private void onOutputs(Buffer body) {
        OutputBatch batch;
        try {
            batch = OutputBatch.decode(body.getBytes());
        } catch (CodecException e) {
            LOG.warn(app + ": an upstream output batch could not be decoded: " + e.getMessage());
            return;
        }
        if (sink == null || batch.seq() <= lastSeq) {
            return;
        }
        lastSeq = batch.seq();
        for (Output o : batch.outputs()) {
            if (o instanceof Output.Connect c) {
                connect(c);
            } else if (o instanceof Output.Send s) {
                Upstream u = open.get(s.connection());
                if (u != null) {
                    u.send(s.offset(), s.bytes());
                }
            } else if (o instanceof Output.Close c) {
                Upstream u = open.get(c.connection());
                if (u != null) {
                    u.guestClosed();
                }
            } else if (o instanceof Output.Reset r) {
                Upstream u = open.remove(r.connection());
                if (u != null) {
                    u.abort();
                }
            } else if (o instanceof Output.Window w) {
                Upstream u = open.get(w.connection());
                if (u != null) {
                    u.guestConsumed(w.bytes());
                }
            }
        }
    }

    private void connect(Output.Connect c) {
        if (c.epoch() != epoch || open.containsKey(c.connection())) {
            return;
        }
        int colon = c.target().lastIndexOf(':');
        String host = c.target().substring(0, colon);
        int port = Integer.parseInt(c.target().substring(colon + 1));
        Upstream u = new Upstream(c.connection(), c.target());
        open.put(c.connection(), u);
        connects.incrementAndGet();
        NetClient netClient = client;
        Sink events = sink;
        vertx.<InetAddress>executeBlocking(() -> InetAddress.getByName(host), false)
                .compose(ip -> netClient.connect(port, ip.getHostAddress()).map(socket -> {
                    u.address = ip.getHostAddress() + ":" + port;
                    return socket;
                }))
                .onComplete(ar -> {
                    if (open.get(c.connection()) != u || sink != events) {
                        if (ar.succeeded()) {
                            ar.result().close(); // the guest reset it, or sequencing stopped, while it connected
                        }
                        return;
                    }
                    if (ar.failed()) {
                        open.remove(c.connection());
                        failures.incrementAndGet();
                        int errno = errnoOf(ar.cause());
                        LOG.info(app + ": connect to upstream " + c.target() + " failed (" + ar.cause() + ")");
                        events.offer(new IngressEvent.Connected(c.connection(), errno, ""));
                        return;
                    }
                    u.attach(ar.result());
                    events.offer(new IngressEvent.Connected(c.connection(), 0, u.address));
                });
    }

    /** The errno a guest's connect gets for {@code cause}. */
    static int errnoOf(Throwable cause) {
        Throwable t = cause;
        while (t.getCause() != null && !(t instanceof ConnectException) && !(t instanceof UnknownHostException)) {
            t = t.getCause();
        }
        if (t instanceof UnknownHostException) {
            return HOSTUNREACH;
        }
        if (t instanceof ConnectTimeoutException || t instanceof java.net.SocketTimeoutException) {
            return TIMEDOUT;
        }
        if (t instanceof NoRouteToHostException) {
            return HOSTUNREACH;
        }
        String message = String.valueOf(t.getMessage()).toLowerCase(java.util.Locale.ROOT);
        if (message.contains("network is unreachable")) {
            return NETUNREACH;
        }
        if (message.contains("timed out")) {
            return TIMEDOUT;
        }
        if (t instanceof ConnectException || message.contains("refused")) {
            return CONNREFUSED;
        }
        return IO;
    }

    /** One real connection to an upstream, under the virtual connection id the guest's connect made. */
    private final class Upstream {
        final long connection;
        final String target;
        String address = "";
        NetSocket socket;
        TcpControl control;
        /** Stream offset of the next byte of the guest's to write. */
        long written;
        /** Bytes from the upstream the guest has room for; reading stops at 0. */
        long credit = receiveWindow;
        final ArrayDeque<byte[]> waiting = new ArrayDeque<>();
        boolean upstreamFin;
        boolean upstreamFinSent;
        boolean guestFin;
        Future<Void> lastWrite = Future.succeededFuture();

        Upstream(long connection, String target) {
            this.connection = connection;
            this.target = target;
        }

        void attach(NetSocket s) {
            socket = s;
            control = new TcpControl(s);
            control.onInputShutdown(() -> {
                upstreamFin = true;
                pass();
            });
            s.handler(b -> {
                byte[] bytes = b.getBytes();
                bytesIn.addAndGet(bytes.length);
                waiting.addLast(bytes);
                pass();
            });
            s.exceptionHandler(t -> LOG.debug(app + ": upstream " + target + ": " + t));
            s.closeHandler(v -> {
                if (open.remove(connection) == this && sink != null) {
                    if (upstreamFinSent && guestFin) {
                        return; // both sides finished: nothing the guest must learn
                    }
                    sink.offer(new IngressEvent.Reset(connection));
                }
            });
        }

        /** Passes on what the guest has room for, then the upstream's FIN once every byte before it went. */
        void pass() {
            if (sink == null) {
                return;
            }
            while (!waiting.isEmpty() && credit > 0) {
                byte[] b = waiting.pollFirst();
                if (b.length > credit) {
                    waiting.addFirst(Arrays.copyOfRange(b, (int) credit, b.length));
                    b = Arrays.copyOf(b, (int) credit);
                }
                credit -= b.length;
                sink.offer(new IngressEvent.Data(connection, b));
            }
            if (waiting.isEmpty() && upstreamFin && !upstreamFinSent) {
                upstreamFinSent = true;
                sink.offer(new IngressEvent.HalfClose(connection));
                if (guestFin) {
                    lastWrite.onComplete(ar -> socket.close());
                }
            }
            control.reading(credit > 0 && !upstreamFin);
        }

        void send(long offset, byte[] bytes) {
            if (socket == null || guestFin || offset + bytes.length <= written || offset > written) {
                return; // another replica's copy, or (offset beyond) a gap another copy fills
            }
            byte[] fresh = offset == written ? bytes : Arrays.copyOfRange(bytes, (int) (written - offset), bytes.length);
            written += fresh.length;
            bytesOut.addAndGet(fresh.length);
            int n = fresh.length;
            lastWrite = socket.write(Buffer.buffer(fresh)).onSuccess(v -> {
                if (sink != null && open.get(connection) == this) {
                    sink.offer(new IngressEvent.Window(connection, n));
                }
            });
        }

        void guestClosed() {
            if (socket == null || guestFin) {
                return;
            }
            guestFin = true;
            lastWrite.onComplete(ar -> control.shutdownOutput());
            if (upstreamFinSent) {
                lastWrite.onComplete(ar -> socket.close());
            }
        }

        void guestConsumed(int bytes) {
            if (socket == null) {
                return;
            }
            credit += bytes;
            pass();
        }

        void abort() {
            if (control != null) {
                control.reset();
            }
        }
    }
}
