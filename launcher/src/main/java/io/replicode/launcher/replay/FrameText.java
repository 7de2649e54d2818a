package io.replicode.launcher.replay;

import io.replicode.nat.ConnectionIds;
import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/** How the replay tools show frames, events, outputs and bytes to a person (and, for dump, as JSON). */
final class FrameText {
    /** Payload bytes shown in an event's preview. */
    static final int PREVIEW_BYTES = 60;
    /** Bytes shown in a hex dump of a differing send. */
    static final int DUMP_BYTES = 256;
    /** Events listed for one frame in a divergence report; a frame holds up to 256. */
    static final int EVENTS_SHOWN = 12;

    private static final HexFormat HEX = HexFormat.of();

    private FrameText() {}

    /** {@code 1,204,331}, whatever the default locale. */
    static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /** A frame time as an ISO instant with nanoseconds. */
    static String instant(long timeNs) {
        return Instant.ofEpochSecond(Math.floorDiv(timeNs, 1_000_000_000L), Math.floorMod(timeNs, 1_000_000_000L)).toString();
    }

    /** The first 4 bytes of a hash, as hex: enough to tell hashes apart by eye. */
    static String shortHash(byte[] hash) {
        return HEX.formatHex(hash, 0, Math.min(4, hash.length));
    }

    static String hex(byte[] bytes) {
        return HEX.formatHex(bytes);
    }

    /** The frame's header line: seq, time (ISO and ns), epoch, entropy, predecessor hash. */
    static String header(Frame f) {
        return "frame " + f.seq() + " at " + instant(f.timeNs()) + " (" + f.timeNs() + " ns), epoch " + f.epoch()
                + ", entropy " + hex(f.entropy()) + ", prev " + shortHash(f.prevHash()) + ", " + f.events().size()
                + (f.events().size() == 1 ? " event" : " events");
    }

    /** One event: what it is, its connection, sizes, and for data a printable preview. */
    static String event(IngressEvent e) {
        if (e instanceof IngressEvent.Open o) {
            return "open " + ConnectionIds.format(o.connection()) + " on listener '" + o.listener() + "'";
        }
        if (e instanceof IngressEvent.Data d) {
            return "data " + ConnectionIds.format(d.connection()) + " " + d.bytes().length + " bytes " + preview(d.bytes());
        }
        if (e instanceof IngressEvent.HalfClose h) {
            return "half-close " + ConnectionIds.format(h.connection());
        }
        if (e instanceof IngressEvent.Reset r) {
            return "reset " + ConnectionIds.format(r.connection());
        }
        if (e instanceof IngressEvent.Window w) {
            return "window " + ConnectionIds.format(w.connection()) + " +" + w.bytes();
        }
        if (e instanceof IngressEvent.GatewayLost g) {
            return "gateway lost " + (g.gateway() == IngressEvent.GatewayLost.ALL ? "(all)" : Integer.toString(g.gateway()));
        }
        if (e instanceof IngressEvent.Batch b) {
            return "batch gateway=" + b.gateway() + " seq=" + b.batchSeq()
                    + (b.gateway() == IngressEvent.Batch.SEQUENCER ? " (sequencer)" : "");
        }
        if (e instanceof IngressEvent.Restart) {
            return "restart (requested by an operator)";
        }
        if (e instanceof IngressEvent.Upgrade u) {
            return "upgrade to module " + u.moduleSha256().substring(0, 12) + " (grace " + u.graceFrames() + " frames)";
        }
        if (e instanceof IngressEvent.Connected c) {
            return "connected " + ConnectionIds.format(c.connection()) + (c.errno() == 0 ? " to " + c.address()
                    : " failed, errno " + c.errno());
        }
        return "snapshot request";
    }

    /** A frame's events, one per line with the given indent, at most {@code max} of them. */
    static String events(Frame f, String indent, int max) {
        StringBuilder b = new StringBuilder();
        List<IngressEvent> events = f.events();
        for (int i = 0; i < events.size() && i < max; i++) {
            b.append(indent).append(event(events.get(i))).append('\n');
        }
        if (events.size() > max) {
            b.append(indent).append("... and ").append(events.size() - max).append(" more events\n");
        }
        if (events.isEmpty()) {
            b.append(indent).append("(no events)\n");
        }
        return b.toString();
    }

    /** One output, for reports. */
    static String output(Output o) {
        if (o instanceof Output.Send s) {
            return "send " + ConnectionIds.format(s.connection()) + " at offset " + s.offset() + ", " + s.bytes().length
                    + " bytes " + preview(s.bytes());
        }
        if (o instanceof Output.Close c) {
            return "close " + ConnectionIds.format(c.connection()) + " after " + c.offset() + " bytes";
        }
        if (o instanceof Output.Reset r) {
            return "reset " + ConnectionIds.format(r.connection());
        }
        if (o instanceof Output.Window w) {
            return "window " + ConnectionIds.format(w.connection()) + " +" + w.bytes();
        }
        if (o instanceof Output.TimerRequest t) {
            return "timer request at " + instant(t.atNs());
        }
        if (o instanceof Output.Log l) {
            return (l.fd() == 1 ? "stdout " : l.fd() == 2 ? "stderr " : "fd " + l.fd() + " ") + l.bytes().length + " bytes "
                    + preview(l.bytes());
        }
        if (o instanceof Output.Recovered r) {
            return "recovered: " + r.report();
        }
        if (o instanceof Output.Upgraded u) {
            return "upgraded to module " + u.moduleSha256().substring(0, 12) + ": " + u.report();
        }
        if (o instanceof Output.Connect c) {
            return "connect " + ConnectionIds.format(c.connection()) + " to upstream " + c.target() + " (epoch " + c.epoch() + ")";
        }
        return "stopped: " + ((Output.Stopped) o).reason();
    }

    /** The first {@value #PREVIEW_BYTES} bytes, quoted and escaped, with "..." when there are more. */
    static String preview(byte[] bytes) {
        return "\"" + escape(bytes, 0, Math.min(bytes.length, PREVIEW_BYTES)) + "\"" + (bytes.length > PREVIEW_BYTES ? "..." : "");
    }

    /** Printable ASCII as is; \r \n \t \\ \" escaped; every other byte as \xHH. */
    static String escape(byte[] bytes, int from, int to) {
        StringBuilder b = new StringBuilder(to - from);
        for (int i = from; i < to; i++) {
            int c = bytes[i] & 0xFF;
            switch (c) {
                case '\r' -> b.append("\\r");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\\' -> b.append("\\\\");
                case '"' -> b.append("\\\"");
                default -> {
                    if (c >= 0x20 && c < 0x7F) {
                        b.append((char) c);
                    } else {
                        b.append("\\x").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 15, 16));
                    }
                }
            }
        }
        return b.toString();
    }

    /**
     * Bytes of a stream as text and as a hex dump whose offsets are stream offsets: {@code bytes[0]} is at
     * {@code streamOffset}; shows [from, from + {@value #DUMP_BYTES}) of it and marks {@code mark} (a stream
     * offset, or -1) with a caret line.
     */
    static String dump(String indent, byte[] bytes, long streamOffset, long from, long mark) {
        int start = (int) Math.max(0, Math.min(bytes.length, from - streamOffset));
        int end = Math.min(bytes.length, start + DUMP_BYTES);
        StringBuilder b = new StringBuilder();
        b.append(indent).append("text: \"").append(escape(bytes, start, end)).append('"');
        if (end < bytes.length) {
            b.append("... (").append(bytes.length - end).append(" more bytes)");
        }
        b.append('\n');
        for (int line = start; line < end; line += 16) {
            b.append(indent).append(String.format(Locale.ROOT, "%10d  ", streamOffset + line));
            StringBuilder ascii = new StringBuilder();
            int markAt = -1;
            for (int i = 0; i < 16; i++) {
                if (line + i < end) {
                    int c = bytes[line + i] & 0xFF;
                    b.append(HEX.toHexDigits((byte) c)).append(' ');
                    ascii.append(c >= 0x20 && c < 0x7F ? (char) c : '.');
                    if (streamOffset + line + i == mark) {
                        markAt = i;
                    }
                } else {
                    b.append("   ");
                }
                if (i == 7) {
                    b.append(' ');
                }
            }
            b.append(" |").append(ascii).append("|\n");
            if (markAt >= 0) {
                b.append(indent).append(" ".repeat(12 + markAt * 3 + (markAt > 7 ? 1 : 0))).append("^^ first difference\n");
            }
        }
        if (start == end) {
            b.append(indent).append("(no bytes)\n");
        }
        return b.toString();
    }

    /** A frame as one JSON object (for {@code replay dump --json}). */
    static JsonObject json(Frame f) {
        JsonArray events = new JsonArray();
        for (IngressEvent e : f.events()) {
            events.add(json(e));
        }
        return new JsonObject().put("seq", f.seq()).put("time", instant(f.timeNs())).put("timeNs", f.timeNs())
                .put("epoch", f.epoch()).put("entropy", hex(f.entropy())).put("prevHash", hex(f.prevHash()))
                .put("events", events);
    }

    private static JsonObject json(IngressEvent e) {
        JsonObject o = new JsonObject();
        if (e instanceof IngressEvent.Open open) {
            o.put("type", "open").put("connection", ConnectionIds.format(open.connection())).put("listener", open.listener());
        } else if (e instanceof IngressEvent.Data d) {
            o.put("type", "data").put("connection", ConnectionIds.format(d.connection())).put("bytes", d.bytes().length)
                    .put("preview", escape(d.bytes(), 0, Math.min(d.bytes().length, PREVIEW_BYTES)));
        } else if (e instanceof IngressEvent.HalfClose h) {
            o.put("type", "half-close").put("connection", ConnectionIds.format(h.connection()));
        } else if (e instanceof IngressEvent.Reset r) {
            o.put("type", "reset").put("connection", ConnectionIds.format(r.connection()));
        } else if (e instanceof IngressEvent.Window w) {
            o.put("type", "window").put("connection", ConnectionIds.format(w.connection())).put("bytes", w.bytes());
        } else if (e instanceof IngressEvent.GatewayLost g) {
            o.put("type", "gateway-lost").put("gateway", g.gateway() == IngressEvent.GatewayLost.ALL ? "all" : g.gateway());
        } else if (e instanceof IngressEvent.Batch b) {
            o.put("type", "batch").put("gateway", b.gateway()).put("batchSeq", b.batchSeq());
        } else if (e instanceof IngressEvent.Restart) {
            o.put("type", "restart");
        } else if (e instanceof IngressEvent.Upgrade u) {
            o.put("type", "upgrade").put("module", u.moduleSha256()).put("graceFrames", u.graceFrames());
        } else if (e instanceof IngressEvent.Connected c) {
            o.put("type", "connected").put("connection", ConnectionIds.format(c.connection())).put("errno", c.errno())
                    .put("address", c.address());
        } else {
            o.put("type", "snapshot-request");
        }
        return o;
    }
}
