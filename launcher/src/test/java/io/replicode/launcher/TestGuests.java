package io.replicode.launcher;

import java.nio.file.Files;
import java.nio.file.Path;

/** The committed test guests of {@code wasm-programs/wasm}, found from the launcher module's directory. */
public final class TestGuests {
    private TestGuests() {}

    /** Absolute path of {@code wasm-programs/wasm/<name>.wasm}. */
    public static Path module(String name) {
        Path p = Path.of("..", "wasm-programs", "wasm", name + ".wasm").toAbsolutePath().normalize();
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("test guest " + p + " is missing; tests run from the launcher directory");
        }
        return p;
    }
}
