package io.replicode.replica.module;

import com.dylibso.chicory.compiler.MachineFactoryCompiler;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import io.replicode.replica.wasi.WasiPreview1;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * A guest module ready to instantiate: checked, instrumented, parsed and (for the compiler engine)
 * compiled once. Loading is costly (0.1-1 s to compile), so modules are cached by content hash and
 * engine and shared by every replica and test in the JVM.
 */
public final class GuestModule {
    private static final Map<String, GuestModule> CACHE = new ConcurrentHashMap<>();

    private final String sha256;
    private final Engine engine;
    private final WasmModule module;
    private final ModuleFacts facts;
    private final Function<Instance, Machine> machineFactory;

    private GuestModule(String sha256, Engine engine, WasmModule module, ModuleFacts facts,
                        Function<Instance, Machine> machineFactory) {
        this.sha256 = sha256;
        this.engine = engine;
        this.module = module;
        this.facts = facts;
        this.machineFactory = machineFactory;
    }

    /** Loads a module file; errors name the file. */
    public static GuestModule load(Path file, Engine engine) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ModuleRejectedException("module file " + file + " does not exist", "check the path given with --app");
        } catch (IOException e) {
            throw new ModuleRejectedException("module file " + file + " cannot be read: " + e.getMessage(),
                    "check the file's permissions");
        }
        try {
            return load(bytes, engine);
        } catch (ModuleRejectedException e) {
            throw new ModuleRejectedException("module " + file + ": " + e.getMessage().replaceFirst("\\. Fix: .*$", ""), e.fix());
        }
    }

    /** Loads a module from its bytes (cached by content and engine). */
    public static GuestModule load(byte[] wasm, Engine engine) {
        String hash = sha256(wasm);
        return CACHE.computeIfAbsent(hash + "/" + engine, k -> build(hash, wasm, engine));
    }

    private static GuestModule build(String hash, byte[] wasm, Engine engine) {
        InstrumentedModule inst = ModuleInstrumenter.instrument(wasm);
        for (String imp : inst.facts().functionImports()) {
            if (!WasiPreview1.provides(imp)) {
                throw new ModuleRejectedException("the module imports " + imp + ", which Replicode does not provide",
                        "use only wasi_snapshot_preview1 imports (build with --target=wasm32-wasi)");
            }
        }
        if (!inst.facts().exportedFunctions().containsKey("_start")) {
            throw new ModuleRejectedException("the module exports no _start function",
                    "build a WASI command (a C program with main), not a reactor or library");
        }
        WasmModule parsed;
        try {
            parsed = Parser.parse(inst.bytes());
        } catch (RuntimeException e) {
            throw new ModuleRejectedException("Chicory cannot parse the module: " + e.getMessage(),
                    "validate it with wasm-validate and rebuild");
        }
        Function<Instance, Machine> factory = null;
        if (engine == Engine.COMPILER) {
            factory = MachineFactoryCompiler.compile(parsed);
        }
        return new GuestModule(hash, engine, parsed, inst.facts(), factory);
    }

    /** Hex SHA-256 of the original (uninstrumented) module bytes. */
    public String sha256() {
        return sha256;
    }

    public Engine engine() {
        return engine;
    }

    public WasmModule chicoryModule() {
        return module;
    }

    public ModuleFacts facts() {
        return facts;
    }

    /** The compiled machine factory, or null for the interpreter. */
    public Function<Instance, Machine> machineFactory() {
        return machineFactory;
    }

    /** Whether the module can park between frames without a thread (it was built with asyncify and has a stack pointer). */
    public boolean snapshotCapable() {
        return facts.asyncified() && facts.stackPointerGlobal() >= 0;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
