package io.replicode.launcher.replay;

import io.replicode.node.UserError;
import io.replicode.nat.Frame;
import io.replicode.replay.LogCorruptedException;
import io.replicode.replay.ReplayLog;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code replicode replay dump}: an app's recorded frames in readable form, or as JSON lines. */
@Command(name = "dump",
        description = {"Prints an app's recorded frames, readable or as JSON lines.",
                "",
                "For each frame of APP: seq, time, epoch, entropy, the",
                "predecessor's hash (short), and every event with its connection, sizes",
                "and a printable preview of the bytes (the first " + FrameText.PREVIEW_BYTES + ")."},
        sortOptions = false,
        footer = {"",
                "Examples:",
                "  ./replicode replay dump --app kv --from 1200 --limit 5",
                "  ./replicode replay dump --app kv --json | jq -c 'select(.seq %% 1000 == 0)'"})
final class DumpCommand implements Callable<Integer> {
    /** Frames read from the log at a time. */
    private static final int BATCH = 256;

    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR", description = "The node's data directory (default: ${DEFAULT-VALUE}).")
    Path data = Path.of("data");

    @Option(names = "--app", paramLabel = "APP", required = true, description = "The app whose log to show.")
    String app;

    @Option(names = "--from", paramLabel = "N", description = "First frame (default: the log's first).")
    Long from;

    @Option(names = "--limit", paramLabel = "M", description = "Show at most M frames (default: all).")
    Long limit;

    @Option(names = "--json", description = {"One JSON object per frame and line, with the",
            "same fields (prevHash in full)."})
    boolean json;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Override
    public Integer call() {
        if (from != null && from < 1) {
            throw new UserError("--from " + from + ": frames are numbered from 1", "pass --from 1 or later");
        }
        if (limit != null && limit < 0) {
            throw new UserError("--limit " + limit + " is negative", "pass --limit 0 or more");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (RecordedApp rec = RecordedApp.open(data, app)) {
            if (rec.tornTail() != null) {
                // On stderr: stdout stays frames only (JSON lines with --json).
                err.println("replay log: " + rec.tornTail());
                err.flush();
            }
            dump(rec.log(), out, err);
            return 0;
        } catch (LogCorruptedException e) {
            throw RecordedApp.corrupt(e);
        } catch (UncheckedIOException e) {
            throw new UserError(e.getMessage(), "check that the data directory is readable");
        }
    }

    private void dump(ReplayLog log, PrintWriter out, PrintWriter err) {
        long seq = from == null ? log.firstSeq() : from;
        if (seq < log.firstSeq()) {
            throw new UserError("frames before " + log.firstSeq() + " of app '" + app + "' were removed by retention",
                    "pass --from " + log.firstSeq() + " or later");
        }
        if (seq > log.lastSeq()) {
            err.println("replay dump: the log of '" + app + "' ends at frame " + log.lastSeq() + ": nothing to show");
            err.flush();
            return;
        }
        long left = limit == null ? Long.MAX_VALUE : limit;
        while (left > 0 && seq <= log.lastSeq()) {
            List<Frame> frames = log.read(seq, (int) Math.min(BATCH, left));
            if (frames.isEmpty()) {
                break;
            }
            for (Frame f : frames) {
                if (json) {
                    out.println(FrameText.json(f).encode());
                } else {
                    out.println(FrameText.header(f));
                    out.print(FrameText.events(f, "  ", Integer.MAX_VALUE));
                }
            }
            left -= frames.size();
            seq = frames.get(frames.size() - 1).seq() + 1;
            // A reader that went away (| head) ends the dump instead of formatting the rest for nobody. picocli's
            // writer wraps System.out, a PrintStream that keeps its write errors to itself: ask it too.
            if (out.checkError() || System.out.checkError()) {
                return;
            }
        }
        out.flush();
    }
}
