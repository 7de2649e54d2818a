package io.replicode.gateway.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * HTTP/1.1 on a virtual connection, with Netty's client codec on an {@link EmbeddedChannel}: the request
 * goes out as bytes for the guest, the guest's bytes come back as response parts. One codec does both, so
 * it knows when a response cannot have a body (a HEAD request, 204, 304).
 *
 * <p>Response parts are copied out of Netty's buffers, so nothing here needs releasing but the wire itself
 * ({@link #close}).
 */
final class HttpWire {
    static final int MAX_INITIAL_LINE = 8192;
    static final int MAX_HEADER_BYTES = 32 << 10;
    static final int MAX_CHUNK_BYTES = 64 << 10;

    /** A part of the guest's response. */
    sealed interface Part permits Head, Body, End, Bad {}

    /** Status line and headers. */
    record Head(HttpResponse response) implements Part {}

    /** Body bytes, de-chunked. */
    record Body(byte[] bytes) implements Part {}

    /** The response is complete; {@code trailers} may be empty. */
    record End(HttpHeaders trailers) implements Part {}

    /** The guest's bytes are not a valid HTTP response. */
    record Bad(String problem) implements Part {}

    private final EmbeddedChannel channel = new EmbeddedChannel(new HttpClientCodec(
            new HttpDecoderConfig().setMaxInitialLineLength(MAX_INITIAL_LINE).setMaxHeaderSize(MAX_HEADER_BYTES)
                    .setMaxChunkSize(MAX_CHUNK_BYTES),
            false, false));
    private boolean closed;

    /** The request head as bytes (with chunked framing of the body to follow if its headers say so). */
    byte[] request(HttpRequest head) {
        channel.writeOutbound(head);
        return outbound();
    }

    /** A piece of the request body as bytes. */
    byte[] content(byte[] bytes) {
        channel.writeOutbound(new DefaultHttpContent(Unpooled.wrappedBuffer(bytes)));
        return outbound();
    }

    /** The end of the request body as bytes (the last chunk, when chunked; usually nothing). */
    byte[] last() {
        channel.writeOutbound(LastHttpContent.EMPTY_LAST_CONTENT);
        return outbound();
    }

    /** Parses more of the guest's bytes. */
    List<Part> response(byte[] bytes) {
        channel.writeInbound(Unpooled.wrappedBuffer(bytes));
        return inbound();
    }

    /** The guest closed the connection: a response delimited by the close ends here. */
    List<Part> end() {
        if (closed) {
            return List.of();
        }
        closed = true;
        channel.finish();
        return inbound();
    }

    /** Releases what the codec still holds. */
    void close() {
        closed = true;
        channel.finishAndReleaseAll();
    }

    private byte[] outbound() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object o = channel.readOutbound(); o != null; o = channel.readOutbound()) {
            ByteBuf b = (ByteBuf) o;
            try {
                byte[] bytes = new byte[b.readableBytes()];
                b.readBytes(bytes);
                out.writeBytes(bytes);
            } finally {
                b.release();
            }
        }
        return out.toByteArray();
    }

    private List<Part> inbound() {
        List<Part> parts = new ArrayList<>();
        for (Object o = channel.readInbound(); o != null; o = channel.readInbound()) {
            try {
                HttpObject h = (HttpObject) o;
                if (h.decoderResult().isFailure()) {
                    parts.add(new Bad(String.valueOf(h.decoderResult().cause().getMessage())));
                    continue;
                }
                if (h instanceof HttpResponse r) {
                    parts.add(new Head(r));
                }
                if (h instanceof HttpContent c && c.content().isReadable()) {
                    byte[] bytes = new byte[c.content().readableBytes()];
                    c.content().readBytes(bytes);
                    parts.add(new Body(bytes));
                }
                if (h instanceof LastHttpContent last) {
                    parts.add(new End(last.trailingHeaders()));
                }
            } finally {
                ReferenceCountUtil.release(o);
            }
        }
        return parts;
    }
}
