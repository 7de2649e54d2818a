package io.replicode.node;

import io.replicode.FixableException;
import java.util.Objects;

/**
 * A mistake the user can fix (a bad flag, a missing file, a busy port): printed as "what" and "Fix: how",
 * never with a stack trace, and the command exits with {@link #EXIT_CODE}.
 */
public final class UserError extends FixableException {
    /** Exit status for user errors, as for picocli's own usage errors. */
    public static final int EXIT_CODE = 2;

    public UserError(String what, String fix) {
        super(Objects.requireNonNull(what, "what"), Objects.requireNonNull(fix, "fix"));
    }

    /** The two lines printed for this error. */
    public String render() {
        return "error: " + what() + System.lineSeparator() + "Fix: " + fix();
    }
}
