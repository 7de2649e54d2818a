package io.replicode.replica.module;

/** A module Replicode cannot run deterministically; the message says what and the fix says how to change it. */
public final class ModuleRejectedException extends RuntimeException {
    private final String fix;

    public ModuleRejectedException(String what, String fix) {
        super(what + (fix == null ? "" : ". Fix: " + fix));
        this.fix = fix;
    }

    /** What the module's author can do about it, or null. */
    public String fix() {
        return fix;
    }
}
