package io.replicode.nat;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Outputs of one frame from one replica, for one gateway (or for the sequencer's control address).
 *
 * <pre>
 * version u8 (1) | app u8 length + UTF-8 | replica u32 | seq i64 | outputs (EventCodec list)
 * </pre>
 *
 * @param app     the app
 * @param replica the replica that produced them
 * @param seq     the frame they answer
 * @param outputs in the order the guest produced them
 */
public record OutputBatch(String app, int replica, long seq, List<Output> outputs) {
    private static final int VERSION = 1;

    public OutputBatch {
        outputs = List.copyOf(outputs);
    }

    public byte[] encode() {
        byte[] appBytes = app.getBytes(StandardCharsets.UTF_8);
        if (appBytes.length > 255) {
            throw new IllegalArgumentException("app name too long");
        }
        byte[] list = EventCodec.encodeOutputs(outputs);
        ByteBuffer b = ByteBuffer.allocate(1 + 1 + appBytes.length + 4 + 8 + list.length);
        b.put((byte) VERSION).put((byte) appBytes.length).put(appBytes).putInt(replica).putLong(seq).put(list);
        return b.array();
    }

    /** The app, replica and frame of an encoded batch, read without decoding its outputs. */
    public record Header(String app, int replica, long seq) {}

    /**
     * Reads only the header of an encoded batch: a gateway drops the copies of a frame's outputs that arrive after the
     * first replica's (two of three) on this alone, without decoding every output.
     */
    public static Header peek(byte[] bytes) {
        return header(ByteBuffer.wrap(bytes));
    }

    /** Reads the header at {@code b}'s position, leaving it at the first output. */
    private static Header header(ByteBuffer b) {
        try {
            int version = b.get() & 0xFF;
            if (version != VERSION) {
                throw new CodecException("output batch version " + version + " is not supported", 0);
            }
            byte[] app = new byte[b.get() & 0xFF];
            b.get(app);
            int replica = b.getInt();
            long seq = b.getLong();
            return new Header(StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(app)).toString(), replica, seq);
        } catch (BufferUnderflowException e) {
            throw new CodecException("output batch truncated", b.position());
        } catch (CharacterCodingException e) {
            // Lenient decoding would turn the name into one that encodes differently, or not at all.
            throw new CodecException("app name is not valid UTF-8", 2);
        }
    }

    public static OutputBatch decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        Header h = header(b);
        try {
            byte[] rest = new byte[b.remaining()];
            b.get(rest);
            return new OutputBatch(h.app(), h.replica(), h.seq(), EventCodec.decodeOutputs(rest));
        } catch (BufferUnderflowException e) {
            throw new CodecException("output batch truncated", b.position());
        }
    }
}
