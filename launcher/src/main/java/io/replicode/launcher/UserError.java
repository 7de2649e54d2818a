package io.replicode.launcher;

import java.util.Objects;

/**
 * A mistake the user can fix (a bad flag, a missing file, a busy port): printed as "what" and "Fix: how",
 * never with a stack trace, and the command exits with {@link #EXIT_CODE}.
 */
public final class UserError extends RuntimeException {
    /** Exit status for user errors, as for picocli's own usage errors. */
    public static final int EXIT_CODE = 2;

    private final String fix;

    public UserError(String what, String fix) {
        super(Objects.requireNonNull(what, "what"));
        this.fix = Objects.requireNonNull(fix, "fix");
    }

    /** What went wrong, without the fix. */
    public String what() {
        return getMessage();
    }

    /** What the user can do about it. */
    public String fix() {
        return fix;
    }

    /** The two lines printed for this error. */
    public String render() {
        return "error: " + what() + System.lineSeparator() + "Fix: " + fix;
    }
}
