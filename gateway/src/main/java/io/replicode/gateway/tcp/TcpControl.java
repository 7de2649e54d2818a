package io.replicode.gateway.tcp;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;

/**
 * The TCP controls a Vert.x 5 {@link NetSocket} does not offer, taken from its Netty channel. This is the
 * only class that reaches under Vert.x; if a Vert.x upgrade breaks it, the fix is here.
 *
 * <ul>
 *   <li>Half-close, both ways. Vert.x closes a connection as soon as the client's FIN arrives, so a client
 *       that half-closes ({@code nc -N}, {@code shutdown(SHUT_WR)}) would never get its reply. With Netty's
 *       {@code ALLOW_HALF_CLOSURE} the FIN becomes an event and the socket stays writable; the guest's own
 *       FIN becomes {@code shutdownOutput()}.</li>
 *   <li>Read pausing through the channel's auto-read. {@code NetSocket.pause()} keeps already-read bytes in
 *       Vert.x's queue but reports channel events (the FIN) at once, so the end of input could overtake
 *       data. With auto-read off, Netty stops reading and the FIN stays behind the bytes.</li>
 *   <li>Abortive close (RST) for a guest reset, via {@code SO_LINGER 0}.</li>
 *   <li>The listening channel that accepted the connection, so accepting can be paused.</li>
 * </ul>
 * Call from the socket's event loop only.
 */
final class TcpControl {
    private final NetSocket socket;
    private final Channel channel;
    private boolean reading = true;
    private Runnable onInputShutdown = () -> { };

    /** Enables half-closure on {@code socket}; the client's FIN is reported to {@link #onInputShutdown}. */
    TcpControl(NetSocket socket) {
        this.socket = socket;
        NetSocketInternal internal = (NetSocketInternal) socket;
        this.channel = internal.channelHandlerContext().channel();
        channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        // Replaces Vert.x's default event handling; on a plain TCP socket the only other events are Netty's
        // half-close follow-ups and Vert.x's server shutdown notice, and the node closes its sockets itself.
        internal.eventHandler(event -> {
            if (event instanceof ChannelInputShutdownEvent) {
                onInputShutdown.run();
            }
        });
    }

    /** {@code handler} runs when the client's FIN arrives. */
    void onInputShutdown(Runnable handler) {
        this.onInputShutdown = handler;
    }

    /** The listening channel that accepted this connection (for pausing accepts), or null. */
    Channel serverChannel() {
        return channel.parent();
    }

    /**
     * Refuses the connection with {@code message} (nothing for an empty one): the message and FIN are sent, what
     * the client sends is read and dropped, and the socket is closed at the client's FIN or after
     * {@code lingerMs}, whichever is first. Closing at once with unread input would send a reset that may
     * destroy the message before the client reads it.
     */
    void refuse(byte[] message, io.vertx.core.Vertx vertx, long lingerMs) {
        if (message.length == 0) {
            reset();
            return;
        }
        socket.handler(b -> { });
        socket.exceptionHandler(t -> { });
        long timer = vertx.setTimer(lingerMs, t -> reset());
        onInputShutdown = () -> {
            vertx.cancelTimer(timer);
            socket.close();
        };
        socket.closeHandler(v -> vertx.cancelTimer(timer));
        socket.write(io.vertx.core.buffer.Buffer.buffer(message)).onComplete(ar -> shutdownOutput());
    }

    /** Starts or stops reading from the client; bytes already read may still arrive once after stopping. */
    void reading(boolean on) {
        if (on != reading) {
            reading = on;
            channel.config().setAutoRead(on);
        }
    }

    /** Sends FIN after everything written so far; the client may keep sending. */
    void shutdownOutput() {
        if (channel instanceof DuplexChannel duplex) {
            duplex.shutdownOutput();
        } else {
            socket.close();
        }
    }

    /** Closes with RST instead of FIN. */
    void reset() {
        if (channel.isOpen()) {
            channel.config().setOption(ChannelOption.SO_LINGER, 0);
        }
        socket.close();
    }
}
