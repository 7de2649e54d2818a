package io.replicode.replica.module;

import com.dylibso.chicory.compiler.MachineFactoryCompiler;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Machine;
import com.dylibso.chicory.wasm.Parser;
import com.dylibso.chicory.wasm.WasmModule;
import io.replicode.replica.wasi.SocketAbi;
import io.replicode.replica.wasi.WasiPreview1;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
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
    private final SocketAbi socketAbi;

    private GuestModule(String sha256, Engine engine, WasmModule module, ModuleFacts facts,
                        Function<Instance, Machine> machineFactory, SocketAbi socketAbi) {
        this.socketAbi = socketAbi;
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
        Map<String, String> wasi = new java.util.LinkedHashMap<>();
        for (var e : inst.facts().importSignatures().entrySet()) {
            if (e.getKey().startsWith(WasiPreview1.MODULE + ".")) {
                wasi.put(e.getKey().substring(WasiPreview1.MODULE.length() + 1), e.getValue());
            }
        }
        SocketAbi abi = SocketAbi.detect(wasi);
        for (var e : inst.facts().importSignatures().entrySet()) {
            String imp = e.getKey();
            if (!WasiPreview1.provides(imp, e.getValue(), abi)) {
                List<String> known = imp.startsWith(WasiPreview1.MODULE + ".")
                        ? WasiPreview1.signatures(imp.substring(WasiPreview1.MODULE.length() + 1), abi) : List.of();
                if (!known.isEmpty()) {
                    throw new ModuleRejectedException("the module imports " + imp + " with type " + e.getValue()
                            + ", but the " + abi.label() + " socket interface it uses has " + String.join(" or ", known),
                            "declare it with that type; " + SocketAbi.supported());
                }
                throw new ModuleRejectedException("the module imports " + imp + e.getValue().substring(0, e.getValue().indexOf("->"))
                        + ", which Replicode does not provide (this module uses the " + abi.label() + " socket interface)",
                        "use WASI preview 1 (build with --target=wasm32-wasi) and one socket interface; " + SocketAbi.supported());
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
        return new GuestModule(hash, engine, parsed, inst.facts(), factory, abi);
    }

    /** The socket interface the module was written against, chosen from its imports ({@link SocketAbi#detect}). */
    public SocketAbi socketAbi() {
        return socketAbi;
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
