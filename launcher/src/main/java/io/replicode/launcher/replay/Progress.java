package io.replicode.launcher.replay;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Progress of a long replay: on a terminal a bar redrawn in place, otherwise (a pipe, a CI log) a line
 * every {@link #LINE_EVERY_NS}. The caller passes the time in, so a test drives it without sleeping.
 */
final class Progress {
    static final long LINE_EVERY_NS = TimeUnit.SECONDS.toNanos(5);
    static final long BAR_EVERY_NS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final int BAR_WIDTH = 30;

    private final PrintWriter out;
    private final boolean terminal;
    private final long total;
    private final long startNs;
    private long nextNs;
    private boolean barShown;

    Progress(PrintWriter out, boolean terminal, long total, long startNs) {
        this.out = out;
        this.terminal = terminal;
        this.total = total;
        this.startNs = startNs;
        this.nextNs = startNs + (terminal ? BAR_EVERY_NS : LINE_EVERY_NS);
    }

    /** {@code done} frames of {@link #total} are through at {@code nowNs}. */
    void at(long done, long nowNs) {
        if (nowNs < nextNs) {
            return;
        }
        nextNs = nowNs + (terminal ? BAR_EVERY_NS : LINE_EVERY_NS);
        double seconds = Math.max(1e-9, (nowNs - startNs) / 1e9);
        long rate = (long) (done / seconds);
        if (terminal) {
            int filled = total == 0 ? BAR_WIDTH : (int) (BAR_WIDTH * done / total);
            String left = rate == 0 ? "" : ", " + duration((total - done) / (double) rate) + " left";
            out.print("\r[" + "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled) + "] " + percent(done) + " "
                    + FrameText.count(done) + " / " + FrameText.count(total) + " frames, " + FrameText.count(rate)
                    + " frames/s" + left + "   ");
            barShown = true;
        } else {
            out.println("verified " + FrameText.count(done) + " / " + FrameText.count(total) + " frames (" + percent(done)
                    + "), " + FrameText.count(rate) + " frames/s");
        }
        out.flush();
    }

    /** Clears the bar, so what follows starts on a clean line. */
    void finish() {
        if (barShown) {
            out.print("\r" + " ".repeat(BAR_WIDTH + 90) + "\r");
            out.flush();
            barShown = false;
        }
    }

    private String percent(long done) {
        return total == 0 ? "100%" : (done * 100 / total) + "%";
    }

    /** {@code 0.8 s}, {@code 48 s}, {@code 3 min 12 s}. */
    static String duration(double seconds) {
        if (seconds < 10) {
            return String.format(Locale.ROOT, "%.1f s", seconds);
        }
        long s = Math.round(seconds);
        return s < 120 ? s + " s" : (s / 60) + " min " + (s % 60) + " s";
    }
}
