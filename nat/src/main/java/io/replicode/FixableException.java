package io.replicode;

import java.util.Objects;

/**
 * An error a person can act on: what went wrong (where, with the values involved) and how to fix it. The message is
 * {@code "<what>. Fix: <fix>"}, as logs and status show it; code that reports the two parts apart (the CLI prints
 * "error:" and "Fix:" lines) reads {@link #what()} and {@link #fix()} instead of splitting the message.
 *
 * <p>Every Replicode error that carries a fix is one of these (or a subclass that adds fields: the log file and offset
 * of a corrupt log, the module of a rejected one).
 */
public class FixableException extends RuntimeException {
    private final String what;
    private final String fix;

    public FixableException(String what, String fix) {
        this(what, fix, null);
    }

    /** @param fix how to fix it, or null when nothing better than "see the message" exists */
    public FixableException(String what, String fix, Throwable cause) {
        super(fix == null ? Objects.requireNonNull(what, "what") : what + ". Fix: " + fix, cause);
        this.what = what;
        this.fix = fix;
    }

    /** What went wrong, without the fix. */
    public final String what() {
        return what;
    }

    /** How to fix it, or null. */
    public final String fix() {
        return fix;
    }

    /** {@link #fix()}, or {@code otherwise} when there is none. */
    public final String fixOr(String otherwise) {
        return fix == null ? otherwise : fix;
    }
}
