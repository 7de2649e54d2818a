package io.replicode.nat;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;

/**
 * A sequencer tells a gateway that its ingress batches of {@code app} up to {@code batchSeq} are in durable
 * frames: the gateway may forget them (until then it keeps them to resend to a new sequencer).
 *
 * <pre>
 * version u8 (1) | app u8 length + UTF-8 | batchSeq i64
 * </pre>
 */
public record IngressAck(String app, long batchSeq) {
    private static final int VERSION = 1;

    public byte[] encode() {
        byte[] name = app.getBytes(StandardCharsets.UTF_8);
        if (name.length == 0 || name.length > 255) {
            throw new IllegalArgumentException("app name of " + name.length + " bytes (1..255)");
        }
        return ByteBuffer.allocate(1 + 1 + name.length + 8).put((byte) VERSION).put((byte) name.length).put(name)
                .putLong(batchSeq).array();
    }

    public static IngressAck decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        try {
            int version = b.get() & 0xFF;
            if (version != VERSION) {
                throw new CodecException("ingress ack version " + version + " is not supported", 0);
            }
            byte[] name = new byte[b.get() & 0xFF];
            if (name.length == 0) {
                throw new CodecException("ingress ack without an app name", 1);
            }
            b.get(name);
            long seq = b.getLong();
            if (b.hasRemaining()) {
                throw new CodecException(b.remaining() + " trailing bytes after the ingress ack", b.position());
            }
            String app = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(name)).toString();
            return new IngressAck(app, seq);
        } catch (BufferUnderflowException e) {
            throw new CodecException("ingress ack truncated", b.position());
        } catch (CharacterCodingException e) {
            throw new CodecException("ingress ack app name is not UTF-8", 2);
        }
    }
}
