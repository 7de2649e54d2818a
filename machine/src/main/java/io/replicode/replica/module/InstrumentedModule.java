package io.replicode.replica.module;

/** A module after {@link ModuleInstrumenter}: the rewritten binary and what was learned about it. */
public record InstrumentedModule(byte[] bytes, ModuleFacts facts) {}
