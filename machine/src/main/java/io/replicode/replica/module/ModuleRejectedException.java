package io.replicode.replica.module;

/** A module Replicode cannot run deterministically; the message says what and the fix says how to change it. */
public final class ModuleRejectedException extends io.replicode.FixableException {
    /** @param fix what the module's author can do about it, or null */
    public ModuleRejectedException(String what, String fix) {
        super(what, fix);
    }
}
