package io.replicode.node;

import java.nio.file.Files;
import java.nio.file.Path;

/** The committed test guests of {@code wasm-programs/wasm}, found from a module directory (one level below the root). */
public final class TestGuests {
    private TestGuests() {}

    /** Absolute path of {@code wasm-programs/wasm/<name>.wasm}. */
    public static Path module(String name) {
        Path p = Path.of("..", "wasm-programs", "wasm", name + ".wasm").toAbsolutePath().normalize();
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("test guest " + p + " is missing; tests run from a module directory");
        }
        return p;
    }
}
