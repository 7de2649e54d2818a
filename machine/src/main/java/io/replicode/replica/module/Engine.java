package io.replicode.replica.module;

/** How Chicory executes a guest: compiled to JVM bytecode (default) or interpreted. */
public enum Engine {
    COMPILER,
    INTERPRETER
}
