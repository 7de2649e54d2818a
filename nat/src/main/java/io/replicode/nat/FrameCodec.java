package io.replicode.nat;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * Binary form of a frame, and its hash.
 *
 * <pre>
 * version   u8       1
 * app       u8 length + UTF-8 (1..64 bytes)
 * epoch     i64
 * seq       i64
 * timeNs    i64
 * entropy   u8 length + bytes (0..64)
 * prevHash  32 bytes
 * events    u32 count + events (see EventCodec)
 * </pre>
 * The hash of a frame is SHA-256 of this encoding; the next frame carries it as {@code prevHash}.
 */
public final class FrameCodec {
    public static final int VERSION = 1;
    private static final int MAX_APP_BYTES = 64;
    private static final int MAX_ENTROPY_BYTES = 64;

    private FrameCodec() {}

    public static byte[] encode(Frame f) {
        byte[] app = f.app().getBytes(StandardCharsets.UTF_8);
        if (app.length == 0 || app.length > MAX_APP_BYTES) {
            throw new IllegalArgumentException("app name of " + app.length + " bytes (1.." + MAX_APP_BYTES + ")");
        }
        if (f.entropy().length > MAX_ENTROPY_BYTES) {
            throw new IllegalArgumentException("entropy of " + f.entropy().length + " bytes (at most " + MAX_ENTROPY_BYTES + ")");
        }
        int size = 1 + 1 + app.length + 24 + 1 + f.entropy().length + 32 + 4;
        for (IngressEvent e : f.events()) {
            size += EventCodec.size(e);
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.put((byte) VERSION).put((byte) app.length).put(app).putLong(f.epoch()).putLong(f.seq()).putLong(f.timeNs())
                .put((byte) f.entropy().length).put(f.entropy()).put(f.prevHash());
        EventCodec.writeEvents(b, f.events());
        return b.array();
    }

    /** Decodes one frame; a malformed encoding gives a {@link CodecException} with the byte offset. */
    public static Frame decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        try {
            int version = b.get() & 0xFF;
            if (version != VERSION) {
                throw new CodecException("frame version " + version + " is not supported (this build reads " + VERSION + ")", 0);
            }
            int appLen = b.get() & 0xFF;
            if (appLen == 0 || appLen > MAX_APP_BYTES) {
                throw new CodecException("app name length " + appLen, 1);
            }
            byte[] app = new byte[appLen];
            b.get(app);
            long epoch = b.getLong();
            long seq = b.getLong();
            if (seq < 1) {
                throw new CodecException("frame seq " + seq + " (must be >= 1)", b.position() - 8);
            }
            long time = b.getLong();
            int entropyLen = b.get() & 0xFF;
            if (entropyLen > MAX_ENTROPY_BYTES) {
                throw new CodecException("entropy length " + entropyLen, b.position() - 1);
            }
            byte[] entropy = new byte[entropyLen];
            b.get(entropy);
            byte[] prev = new byte[32];
            b.get(prev);
            List<IngressEvent> events = EventCodec.readEvents(b);
            if (b.hasRemaining()) {
                throw new CodecException(b.remaining() + " trailing bytes after the frame", b.position());
            }
            String appName = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(app)).toString();
            return new Frame(appName, epoch, seq, time, entropy, events, prev);
        } catch (BufferUnderflowException e) {
            throw new CodecException("frame truncated", b.position());
        } catch (CharacterCodingException e) {
            throw new CodecException("app name is not valid UTF-8", 2);
        }
    }

    /** SHA-256 of a frame's encoding. */
    public static byte[] hash(byte[] encoded) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(encoded);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
