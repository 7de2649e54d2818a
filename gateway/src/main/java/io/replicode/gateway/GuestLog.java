package io.replicode.gateway;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * Prints a guest's stdout and stderr on the node's output, one line at a time, each prefixed with the
 * app's name. A guest's line may arrive in pieces over several frames; a piece longer than
 * {@link #MAX_LINE_BYTES} is printed as a line of its own rather than held.
 */
public final class GuestLog {
    public static final int MAX_LINE_BYTES = 8192;

    private final String prefix;
    private final PrintWriter out;
    private final ByteArrayOutputStream[] partial = {new ByteArrayOutputStream(), new ByteArrayOutputStream()};

    public GuestLog(String app, PrintWriter out) {
        this.prefix = "[" + app + "] ";
        this.out = out;
    }

    /** Bytes the guest wrote to {@code fd} (1 = stdout, 2 = stderr). */
    public void append(int fd, byte[] bytes) {
        ByteArrayOutputStream line = partial[fd == 2 ? 1 : 0];
        for (byte b : bytes) {
            if (b == '\n') {
                print(line);
            } else {
                line.write(b);
                if (line.size() >= MAX_LINE_BYTES) {
                    print(line);
                }
            }
        }
        out.flush();
    }

    /** Prints unfinished lines (the guest stopped). */
    public void flush() {
        for (ByteArrayOutputStream line : partial) {
            if (line.size() > 0) {
                print(line);
            }
        }
        out.flush();
    }

    private void print(ByteArrayOutputStream line) {
        String text = line.toString(StandardCharsets.UTF_8);
        if (text.endsWith("\r")) {
            text = text.substring(0, text.length() - 1);
        }
        out.println(prefix + text);
        line.reset();
    }
}
