package io.replicode.replica.machine;

import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Test helpers: the committed guest modules, frame building and output reading. */
final class Guests {
    static final long T0 = 1_700_000_000_000_000_000L;

    private Guests() {}

    static Path wasm(String name) {
        Path dir = Path.of(System.getProperty("replicode.wasm.dir", "../wasm-programs/wasm"));
        Path p = dir.resolve(name + ".wasm");
        if (!Files.exists(p)) {
            throw new IllegalStateException("guest " + p.toAbsolutePath() + " is missing; run make -C wasm-programs");
        }
        return p;
    }

    static GuestModule module(String name, Engine engine) {
        return GuestModule.load(wasm(name), engine);
    }

    static GuestMachine machine(String name, Engine engine, GuestConfig config) {
        return GuestMachine.create(module(name, engine), config);
    }

    static GuestConfig config(String app, String... listeners) {
        return GuestConfig.of(app, List.of(listeners)).withGenesis(new byte[] {1, 2, 3}, T0);
    }

    /** Builds consecutive frames: seq 1, 2, ... and time advancing 1 ms per frame unless set. */
    static final class Script {
        long seq;
        long timeNs = T0;
        /** The sequencer epoch stamped on the frames (a new leader's frames carry a new one). */
        long epoch = 1;

        Frame next(IngressEvent... events) {
            timeNs += 1_000_000;
            return at(timeNs, events);
        }

        Frame at(long time, IngressEvent... events) {
            timeNs = time;
            seq++;
            return new Frame("test", epoch, seq, timeNs, new byte[] {(byte) seq, 7}, List.of(events));
        }
    }

    static IngressEvent.Open open(long conn, String listener) {
        return new IngressEvent.Open(conn, listener);
    }

    static IngressEvent.Data data(long conn, String text) {
        return new IngressEvent.Data(conn, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Bytes sent on {@code conn}, concatenated in offset order (asserting offsets are contiguous). */
    static String sent(List<Output> outputs, long conn) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        long expected = -1;
        for (Output o : outputs) {
            if (o instanceof Output.Send s && s.connection() == conn) {
                if (expected >= 0 && s.offset() != expected) {
                    throw new AssertionError("gap in stream of connection " + conn + ": offset " + s.offset() + ", expected " + expected);
                }
                b.writeBytes(s.bytes());
                expected = s.offset() + s.bytes().length;
            }
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    static String log(List<Output> outputs, int fd) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (Output o : outputs) {
            if (o instanceof Output.Log l && l.fd() == fd) {
                b.writeBytes(l.bytes());
            }
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    static <T extends Output> List<T> of(List<Output> outputs, Class<T> type) {
        List<T> out = new ArrayList<>();
        for (Output o : outputs) {
            if (type.isInstance(o)) {
                out.add(type.cast(o));
            }
        }
        return out;
    }
}
