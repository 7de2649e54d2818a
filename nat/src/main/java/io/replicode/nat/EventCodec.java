package io.replicode.nat;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Binary codec of ingress events and outputs, as they travel in frames and on the event bus.
 *
 * <pre>
 * event  (big-endian):  type u8 | connection i64 | body
 *   1 Open       listener: u16 length + UTF-8
 *   2 Data       bytes: u32 length + bytes
 *   3 HalfClose  (no body)
 *   4 Reset      (no body)
 *   5 Window     credit: u32
 *   6 GatewayLost  (the connection field holds the gateway id, -1 for all)
 *   7 SnapshotRequest  (the connection field is -1)
 *   8 Batch      batchSeq: i64 (the connection field holds the gateway id, 0 for the sequencer's own events)
 *   9 Restart    (the connection field is -1)
 *  10 Upgrade    (the connection field is -1) module SHA-256: u16 length + UTF-8 (64 hex digits) | graceFrames u32
 *  11 Connected  errno: u16 | address: u16 length + UTF-8 (what the name resolved to, "" when nothing was reached)
 * output:               type u8 | body
 *   1 Send       connection i64 | offset i64 | u32 length + bytes
 *   2 Close      connection i64 | offset i64
 *   3 Reset      connection i64
 *   4 Window     connection i64 | bytes u32
 *   5 Timer      atNs i64
 *   6 Log        fd u8 | u32 length + bytes
 *   7 Stopped    reason: u16 length + UTF-8
 *   8 Recovered  report: u16 length + UTF-8
 *   9 Upgraded   module SHA-256: u16 length + UTF-8 | report: u16 length + UTF-8
 *  10 Connect    connection i64 | epoch i64 | target: u16 length + UTF-8 (host:port)
 * list:                 count u32 | items
 * </pre>
 * Decoding checks every length against the bytes that remain and a caller's cap before allocating, and
 * reports the first problem with its byte offset.
 */
public final class EventCodec {
    /** Largest Data payload or Send chunk one item may carry. */
    public static final int MAX_ITEM_BYTES = 16 << 20;
    private static final int MAX_NAME_BYTES = 1024;

    private EventCodec() {}

    /** Exact encoded size of one event. */
    public static int size(IngressEvent e) {
        int base = 1 + 8;
        if (e instanceof IngressEvent.Open o) {
            return base + 2 + utf8(o.listener()).length;
        }
        if (e instanceof IngressEvent.Data d) {
            return base + 4 + d.bytes().length;
        }
        if (e instanceof IngressEvent.Window) {
            return base + 4;
        }
        if (e instanceof IngressEvent.Batch) {
            return base + 8;
        }
        if (e instanceof IngressEvent.Upgrade u) {
            return base + 2 + utf8(u.moduleSha256()).length + 4;
        }
        if (e instanceof IngressEvent.Connected c) {
            return base + 2 + 2 + utf8(c.address()).length;
        }
        return base;
    }

    public static void writeEvent(ByteBuffer b, IngressEvent e) {
        if (e instanceof IngressEvent.Open o) {
            b.put((byte) 1).putLong(o.connection());
            putShortString(b, o.listener());
        } else if (e instanceof IngressEvent.Data d) {
            b.put((byte) 2).putLong(d.connection()).putInt(d.bytes().length).put(d.bytes());
        } else if (e instanceof IngressEvent.HalfClose h) {
            b.put((byte) 3).putLong(h.connection());
        } else if (e instanceof IngressEvent.Reset r) {
            b.put((byte) 4).putLong(r.connection());
        } else if (e instanceof IngressEvent.Window w) {
            b.put((byte) 5).putLong(w.connection()).putInt(w.bytes());
        } else if (e instanceof IngressEvent.GatewayLost g) {
            b.put((byte) 6).putLong(g.gateway());
        } else if (e instanceof IngressEvent.SnapshotRequest) {
            b.put((byte) 7).putLong(-1);
        } else if (e instanceof IngressEvent.Batch m) {
            b.put((byte) 8).putLong(m.gateway()).putLong(m.batchSeq());
        } else if (e instanceof IngressEvent.Restart) {
            b.put((byte) 9).putLong(-1);
        } else if (e instanceof IngressEvent.Upgrade u) {
            b.put((byte) 10).putLong(-1);
            putShortString(b, u.moduleSha256());
            b.putInt(u.graceFrames());
        } else if (e instanceof IngressEvent.Connected c) {
            b.put((byte) 11).putLong(c.connection()).putShort((short) c.errno());
            putShortString(b, c.address());
        } else {
            throw new IllegalArgumentException("unknown event " + e);
        }
    }

    public static IngressEvent readEvent(ByteBuffer b) {
        int at = b.position();
        try {
            int type = b.get() & 0xFF;
            long conn = b.getLong();
            switch (type) {
                case 1:
                    return new IngressEvent.Open(conn, getShortString(b, "listener"));
                case 2:
                    return new IngressEvent.Data(conn, getBytes(b, "data"));
                case 3:
                    return new IngressEvent.HalfClose(conn);
                case 4:
                    return new IngressEvent.Reset(conn);
                case 5: {
                    int credit = b.getInt();
                    if (credit < 0) {
                        throw new CodecException("window credit " + Integer.toUnsignedString(credit) + " too large", at);
                    }
                    return new IngressEvent.Window(conn, credit);
                }
                case 6:
                    if (conn < -1 || conn > ConnectionIds.MAX_GATEWAY) {
                        throw new CodecException("gateway id " + conn + " out of range", at);
                    }
                    return new IngressEvent.GatewayLost((int) conn);
                case 7:
                    return new IngressEvent.SnapshotRequest();
                case 8: {
                    if (conn < 0 || conn > ConnectionIds.MAX_GATEWAY) {
                        throw new CodecException("batch mark gateway id " + conn + " out of range", at);
                    }
                    long batchSeq = b.getLong();
                    if (batchSeq < 0) {
                        throw new CodecException("batch mark batchSeq " + batchSeq + " is negative", at);
                    }
                    return new IngressEvent.Batch((int) conn, batchSeq);
                }
                case 9:
                    if (conn != -1) {
                        throw new CodecException("restart event has connection field " + conn + ", not -1", at);
                    }
                    return new IngressEvent.Restart();
                case 10: {
                    if (conn != -1) {
                        throw new CodecException("upgrade event has connection field " + conn + ", not -1", at);
                    }
                    String sha = getShortString(b, "module hash");
                    int grace = b.getInt();
                    try {
                        return new IngressEvent.Upgrade(sha, grace);
                    } catch (IllegalArgumentException bad) {
                        throw new CodecException("upgrade event: " + bad.getMessage(), at);
                    }
                }
                case 11: {
                    int errno = b.getShort() & 0xFFFF;
                    return new IngressEvent.Connected(conn, errno, getShortString(b, "address"));
                }
                default:
                    throw new CodecException("unknown event type " + type, at);
            }
        } catch (BufferUnderflowException e) {
            throw new CodecException("event truncated", at);
        }
    }

    public static byte[] encodeEvents(List<IngressEvent> events) {
        int size = 4;
        for (IngressEvent e : events) {
            size += size(e);
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        writeEvents(b, events);
        return b.array();
    }

    public static void writeEvents(ByteBuffer b, List<IngressEvent> events) {
        b.putInt(events.size());
        for (IngressEvent e : events) {
            writeEvent(b, e);
        }
    }

    /** Reads a counted list of events; every event takes at least 9 bytes, which bounds the count. */
    public static List<IngressEvent> readEvents(ByteBuffer b) {
        int at = b.position();
        int count = count(b, 9, "events", at);
        List<IngressEvent> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(readEvent(b));
        }
        return out;
    }

    public static byte[] encodeOutputs(List<Output> outputs) {
        int size = 4;
        for (Output o : outputs) {
            size += size(o);
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(outputs.size());
        for (Output o : outputs) {
            writeOutput(b, o);
        }
        return b.array();
    }

    public static List<Output> decodeOutputs(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        int count = count(b, 9, "outputs", 0);
        List<Output> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(readOutput(b));
        }
        if (b.hasRemaining()) {
            throw new CodecException(b.remaining() + " trailing bytes after the outputs", b.position());
        }
        return out;
    }

    public static List<IngressEvent> decodeEvents(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        List<IngressEvent> events = readEvents(b);
        if (b.hasRemaining()) {
            throw new CodecException(b.remaining() + " trailing bytes after the events", b.position());
        }
        return events;
    }

    static int size(Output o) {
        if (o instanceof Output.Send s) {
            return 1 + 8 + 8 + 4 + s.bytes().length;
        }
        if (o instanceof Output.Close) {
            return 1 + 16;
        }
        if (o instanceof Output.Reset || o instanceof Output.TimerRequest) {
            return 1 + 8;
        }
        if (o instanceof Output.Window) {
            return 1 + 12;
        }
        if (o instanceof Output.Log l) {
            return 1 + 1 + 4 + l.bytes().length;
        }
        if (o instanceof Output.Recovered r) {
            return 1 + 2 + utf8(r.report()).length;
        }
        if (o instanceof Output.Upgraded u) {
            return 1 + 2 + utf8(u.moduleSha256()).length + 2 + utf8(u.report()).length;
        }
        if (o instanceof Output.Connect c) {
            return 1 + 16 + 2 + utf8(c.target()).length;
        }
        return 1 + 2 + utf8(((Output.Stopped) o).reason()).length;
    }

    static void writeOutput(ByteBuffer b, Output o) {
        if (o instanceof Output.Send s) {
            b.put((byte) 1).putLong(s.connection()).putLong(s.offset()).putInt(s.bytes().length).put(s.bytes());
        } else if (o instanceof Output.Close c) {
            b.put((byte) 2).putLong(c.connection()).putLong(c.offset());
        } else if (o instanceof Output.Reset r) {
            b.put((byte) 3).putLong(r.connection());
        } else if (o instanceof Output.Window w) {
            b.put((byte) 4).putLong(w.connection()).putInt(w.bytes());
        } else if (o instanceof Output.TimerRequest t) {
            b.put((byte) 5).putLong(t.atNs());
        } else if (o instanceof Output.Log l) {
            b.put((byte) 6).put((byte) l.fd()).putInt(l.bytes().length).put(l.bytes());
        } else if (o instanceof Output.Stopped s) {
            b.put((byte) 7);
            putShortString(b, s.reason());
        } else if (o instanceof Output.Recovered r) {
            b.put((byte) 8);
            putShortString(b, r.report());
        } else if (o instanceof Output.Upgraded u) {
            b.put((byte) 9);
            putShortString(b, u.moduleSha256());
            putShortString(b, u.report());
        } else if (o instanceof Output.Connect c) {
            b.put((byte) 10).putLong(c.connection()).putLong(c.epoch());
            putShortString(b, c.target());
        }
    }

    static Output readOutput(ByteBuffer b) {
        int at = b.position();
        try {
            int type = b.get() & 0xFF;
            switch (type) {
                case 1: {
                    long conn = b.getLong();
                    long offset = b.getLong();
                    return new Output.Send(conn, offset, getBytes(b, "send"));
                }
                case 2:
                    return new Output.Close(b.getLong(), b.getLong());
                case 3:
                    return new Output.Reset(b.getLong());
                case 4:
                    return new Output.Window(b.getLong(), b.getInt());
                case 5:
                    return new Output.TimerRequest(b.getLong());
                case 6: {
                    int fd = b.get();
                    return new Output.Log(fd, getBytes(b, "log"));
                }
                case 7:
                    return new Output.Stopped(getShortString(b, "reason"));
                case 8:
                    return new Output.Recovered(getShortString(b, "report"));
                case 9:
                    return new Output.Upgraded(getShortString(b, "module hash"), getShortString(b, "report"));
                case 10: {
                    long conn = b.getLong();
                    long epoch = b.getLong();
                    return new Output.Connect(conn, epoch, getShortString(b, "target"));
                }
                default:
                    throw new CodecException("unknown output type " + type, at);
            }
        } catch (BufferUnderflowException e) {
            throw new CodecException("output truncated", at);
        }
    }

    private static int count(ByteBuffer b, int minItemBytes, String what, int at) {
        if (b.remaining() < 4) {
            throw new CodecException(what + " count truncated", at);
        }
        int count = b.getInt();
        if (count < 0 || (long) count * minItemBytes > b.remaining()) {
            throw new CodecException(what + " count " + Integer.toUnsignedString(count) + " does not fit in the "
                    + b.remaining() + " bytes that follow", at);
        }
        return count;
    }

    private static byte[] getBytes(ByteBuffer b, String what) {
        int at = b.position();
        int len = b.getInt();
        if (len < 0 || len > MAX_ITEM_BYTES || len > b.remaining()) {
            throw new CodecException(what + " length " + Integer.toUnsignedString(len) + " exceeds the "
                    + Math.min(MAX_ITEM_BYTES, b.remaining()) + " bytes allowed here", at);
        }
        byte[] out = new byte[len];
        b.get(out);
        return out;
    }

    private static void putShortString(ByteBuffer b, String s) {
        byte[] u = utf8(s);
        b.putShort((short) u.length).put(u);
    }

    private static String getShortString(ByteBuffer b, String what) {
        int at = b.position();
        int len = b.getShort() & 0xFFFF;
        if (len > MAX_NAME_BYTES || len > b.remaining()) {
            throw new CodecException(what + " length " + len + " too large", at);
        }
        byte[] u = new byte[len];
        b.get(u);
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(u)).toString();
        } catch (CharacterCodingException e) {
            throw new CodecException(what + " is not valid UTF-8", at);
        }
    }

    private static byte[] utf8(String s) {
        byte[] u = s.getBytes(StandardCharsets.UTF_8);
        if (u.length > MAX_NAME_BYTES) {
            throw new IllegalArgumentException("name of " + u.length + " bytes (at most " + MAX_NAME_BYTES + ")");
        }
        return u;
    }
}
