package io.replicode.nat;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Events one gateway sends to an app's sequencer in one message.
 *
 * <pre>
 * version u8 (1) | gateway u32 | batchSeq i64 | events (EventCodec list)
 * </pre>
 *
 * @param gateway  the sending gateway's id
 * @param batchSeq per-gateway, per-app counter from 1: lets the sequencer drop duplicates and see gaps
 * @param events   in the order they happened at the gateway
 */
public record IngressBatch(int gateway, long batchSeq, List<IngressEvent> events) {
    private static final int VERSION = 1;

    public IngressBatch {
        events = List.copyOf(events);
    }

    public byte[] encode() {
        int size = 1 + 4 + 8 + 4;
        for (IngressEvent e : events) {
            size += EventCodec.size(e);
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.put((byte) VERSION).putInt(gateway).putLong(batchSeq);
        EventCodec.writeEvents(b, events);
        return b.array();
    }

    public static IngressBatch decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        try {
            int version = b.get() & 0xFF;
            if (version != VERSION) {
                throw new CodecException("ingress batch version " + version + " is not supported", 0);
            }
            int gateway = b.getInt();
            long seq = b.getLong();
            List<IngressEvent> events = EventCodec.readEvents(b);
            if (b.hasRemaining()) {
                throw new CodecException(b.remaining() + " trailing bytes after the ingress batch", b.position());
            }
            return new IngressBatch(gateway, seq, events);
        } catch (BufferUnderflowException e) {
            throw new CodecException("ingress batch truncated", b.position());
        }
    }
}
