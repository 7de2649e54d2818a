package io.replicode.gateway.limits;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Paces the gateway's accepting when descriptors run short. Sits first in each listening (server) channel's
 * pipeline, where every accepted connection passes before it reaches an event loop: when the process is near
 * its open-files limit ({@link FilesBudget}) the new connection is reset at once, and the channel stops
 * accepting for {@link #PAUSE_MS}; so it does when accept itself failed (EMFILE, ENFILE). Connections that
 * arrive meanwhile wait in the kernel's backlog, and the clients already connected go on being served.
 * Pauses, refusals and accept failures are counted for {@code /status}.
 *
 * <p>Server channels run on Vert.x's acceptor threads, so this class is thread-safe.
 */
public final class AcceptPacer {
    /** How long accepting pauses: short, so a burst that passes costs little; long enough not to spin. */
    public static final long PAUSE_MS = 250;
    private static final String HANDLER = "replicode-accept-pacer";

    private final FilesBudget files;
    private final AtomicLong pauses = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong acceptErrors = new AtomicLong();

    public AcceptPacer(FilesBudget files) {
        this.files = files;
    }

    /**
     * Watches {@code server} (once per channel; call with the parent of each accepted connection, as Vert.x does
     * not show its listening channels). Until the first connection, accepting is unpaced.
     */
    public void watch(Channel server) {
        if (server == null || server.pipeline().get(HANDLER) != null) {
            return;
        }
        server.eventLoop().execute(() -> {
            if (server.pipeline().get(HANDLER) == null) {
                server.pipeline().addFirst(HANDLER, new Handler());
            }
        });
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Channel child && files.low(System.currentTimeMillis())) {
                refused.incrementAndGet();
                child.config().setOption(ChannelOption.SO_LINGER, 0);
                child.unsafe().closeForcibly();
                pause(ctx.channel());
                return;
            }
            files.accepted();
            ctx.fireChannelRead(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof IOException) {
                // "Too many open files" and the like: counted here instead of logged once per attempt.
                acceptErrors.incrementAndGet();
                pause(ctx.channel());
            } else {
                ctx.fireExceptionCaught(cause);
            }
        }
    }

    /** On the server channel's event loop. */
    private void pause(Channel server) {
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

    /** Connections reset on accept because descriptors ran short. */
    public long refused() {
        return refused.get();
    }

    /** Accepts that failed (e.g. too many open files). */
    public long acceptErrors() {
        return acceptErrors.get();
    }

    public FilesBudget files() {
        return files;
    }
}
