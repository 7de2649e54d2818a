package io.replicode.gateway.limits;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Paces the gateway's accepting when descriptors run short: a listening (server) channel stops accepting for
 * {@link #PAUSE_MS} when the process nears its open-files limit ({@link FilesBudget}), or when accept itself
 * failed (EMFILE, ENFILE); connections that arrive meanwhile wait in the kernel's backlog, and the clients
 * already connected go on being served. Pauses and accept failures are counted for {@code /status}.
 *
 * <p>Works on the Netty server channel (the parent of an accepted channel), the only place the pause can be
 * made; server channels run on Vert.x's acceptor threads, so this class is thread-safe.
 */
public final class AcceptPacer {
    /** How long accepting pauses: short, so a burst that passes costs little; long enough not to spin. */
    public static final long PAUSE_MS = 250;
    private static final String HANDLER = "replicode-accept-pacer";

    private final AtomicLong pauses = new AtomicLong();
    private final AtomicLong acceptErrors = new AtomicLong();

    /** Stops {@code server} accepting for {@link #PAUSE_MS} (nothing if it is already paused). */
    public void pause(Channel server) {
        if (server.eventLoop().inEventLoop()) {
            pauseNow(server);
        } else {
            server.eventLoop().execute(() -> pauseNow(server));
        }
    }

    /** Watches {@code server} for failed accepts (once per channel): each is counted and pauses accepting. */
    public void watch(Channel server) {
        server.eventLoop().execute(() -> {
            if (server.pipeline().get(HANDLER) == null) {
                server.pipeline().addFirst(HANDLER, new ChannelInboundHandlerAdapter() {
                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        if (cause instanceof IOException) {
                            // "Too many open files" and the like: counted here instead of logged once per attempt.
                            acceptErrors.incrementAndGet();
                            pauseNow(ctx.channel());
                        } else {
                            ctx.fireExceptionCaught(cause);
                        }
                    }
                });
            }
        });
    }

    private void pauseNow(Channel server) {
        if (server.isOpen() && server.config().isAutoRead()) {
            server.config().setAutoRead(false);
            pauses.incrementAndGet();
            server.eventLoop().schedule(() -> {
                if (server.isOpen()) {
                    server.config().setAutoRead(true);
                }
            }, PAUSE_MS, TimeUnit.MILLISECONDS);
        }
    }

    /** Times accepting was paused. */
    public long pauses() {
        return pauses.get();
    }

    /** Accepts that failed (e.g. too many open files). */
    public long acceptErrors() {
        return acceptErrors.get();
    }
}
