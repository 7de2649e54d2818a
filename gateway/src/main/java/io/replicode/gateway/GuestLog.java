package io.replicode.gateway;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * Prints a guest's stdout and stderr on the node's output, one line at a time, each prefixed with the
 * app's name and the stream: {@code [kv stdout] ...}, {@code [kv stderr] ...} (the command line's log turns the prefix
 * into the logger {@code guest.kv.stdout} and the fields {@code app} and {@code stream}). A guest's line may arrive in pieces over several frames; a piece longer than
 * {@link #MAX_LINE_BYTES} is printed as a line of its own rather than held.
 */
public final class GuestLog {
    public static final int MAX_LINE_BYTES = 8192;

    private final String[] prefix;
    private final PrintWriter out;
    private final ByteArrayOutputStream[] partial = {new ByteArrayOutputStream(), new ByteArrayOutputStream()};

    public GuestLog(String app, PrintWriter out) {
        this.prefix = new String[] {"[" + app + " stdout] ", "[" + app + " stderr] "};
        this.out = out;
    }

    /** Bytes the guest wrote to {@code fd} (1 = stdout, 2 = stderr). */
    public void append(int fd, byte[] bytes) {
        ByteArrayOutputStream line = partial[fd == 2 ? 1 : 0];
        for (byte b : bytes) {
            if (b == '\n') {
                print(line, fd);
            } else {
                line.write(b);
                if (line.size() >= MAX_LINE_BYTES) {
                    print(line, fd);
                }
            }
        }
        out.flush();
    }

    /** Prints unfinished lines (the guest stopped). */
    public void flush() {
        for (int i = 0; i < partial.length; i++) {
            if (partial[i].size() > 0) {
                print(partial[i], i + 1);
            }
        }
        out.flush();
    }

    private void print(ByteArrayOutputStream line, int fd) {
        String text = line.toString(StandardCharsets.UTF_8);
        if (text.endsWith("\r")) {
            text = text.substring(0, text.length() - 1);
        }
        out.println(prefix[fd == 2 ? 1 : 0] + text);
        line.reset();
    }
}
