package io.replicode.replica.module;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Rewrites a WebAssembly binary so that it runs the same way on every engine and JVM.
 *
 * <p>Chicory has no fuel, its call depth depends on the JVM stack, and float results carry the CPU's
 * NaN bits. This pass fixes all three in the module itself, so the interpreter and the compiler see
 * the same instrumented code:
 * <ul>
 *   <li><b>fuel</b>: a new mutable i64 global is decremented at every function entry and every loop
 *       header by the static instruction count of the straight-line region it guards (the function
 *       body or loop body, excluding nested loops' bodies); when it drops below zero the code executes
 *       {@code unreachable}. An endless loop therefore stops at the same iteration everywhere.</li>
 *   <li><b>call depth</b>: a new i32 global counts active wasm frames; it is incremented on entry and
 *       compared with a limit global, and decremented on every exit. The body is wrapped in a block so
 *       that {@code return} becomes a branch to that block and the decrement runs on every path.</li>
 *   <li><b>NaN canonicalisation</b>: after every float operation that can produce a NaN, a NaN result
 *       is replaced by the canonical quiet NaN (0x7FC00000, 0x7FF8000000000000), as wasmtime's
 *       {@code cranelift_nan_canonicalization} does.</li>
 * </ul>
 * The new globals are appended after all existing ones, so no existing index moves. Modules using
 * threads, shared memory, SIMD, exception handling or GC are rejected with a reason.
 */
public final class ModuleInstrumenter {
    private static final byte[] MAGIC = {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00};

    static final int SEC_CUSTOM = 0;
    static final int SEC_TYPE = 1;
    static final int SEC_IMPORT = 2;
    static final int SEC_FUNCTION = 3;
    static final int SEC_MEMORY = 5;
    static final int SEC_GLOBAL = 6;
    static final int SEC_EXPORT = 7;
    static final int SEC_CODE = 10;
    static final int SEC_TAG = 13;

    private static final int I32 = 0x7F;
    private static final int I64 = 0x7E;
    private static final int F32 = 0x7D;
    private static final int F64 = 0x7C;

    private ModuleInstrumenter() {}

    /** A section as found in the input: id and the byte range of its contents. */
    private record Section(int id, int start, int end) {}

    /** A function type: parameter and result value types as their binary codes. */
    record FuncType(byte[] params, byte[] results) {}

    /** Instruments {@code wasm}; throws {@link ModuleRejectedException} if it cannot run deterministically. */
    public static InstrumentedModule instrument(byte[] wasm) {
        if (wasm.length < 8 || !Arrays.equals(Arrays.copyOf(wasm, 8), MAGIC)) {
            throw new ModuleRejectedException("not a WebAssembly module: the file does not start with the wasm magic and version 1",
                    "give a .wasm file compiled for wasm32-wasi (core module, not a component)");
        }
        List<Section> sections = new ArrayList<>();
        WasmReader r = new WasmReader(wasm, 8, wasm.length);
        while (!r.atEnd()) {
            int id = r.u8();
            int size = r.index();
            int start = r.pos();
            r.skip(size);
            sections.add(new Section(id, start, start + size));
        }

        ModuleFacts.Builder facts = new ModuleFacts.Builder();
        List<FuncType> types = new ArrayList<>();
        List<Integer> funcTypeIndices = new ArrayList<>();
        for (Section s : sections) {
            switch (s.id) {
                case SEC_TYPE -> readTypes(wasm, s, types);
                case SEC_IMPORT -> readImports(wasm, s, types, facts);
                case SEC_FUNCTION -> readFunctions(wasm, s, funcTypeIndices);
                case SEC_MEMORY -> readMemories(wasm, s, facts);
                case SEC_GLOBAL -> readGlobals(wasm, s, facts);
                case SEC_EXPORT -> readExports(wasm, s, facts);
                case SEC_TAG -> throw new ModuleRejectedException("the module uses exception handling (tag section)",
                        "compile without -fwasm-exceptions");
                case SEC_CUSTOM -> readCustom(wasm, s, facts);
                default -> { }
            }
        }

        int fuelGlobal = facts.globalCount();
        int depthGlobal = fuelGlobal + 1;
        int depthLimitGlobal = fuelGlobal + 2;
        facts.instrumentationGlobals(fuelGlobal, depthGlobal, depthLimitGlobal);

        // Types added for multi-value wrapper blocks are appended; collected while rewriting code.
        List<FuncType> addedTypes = new ArrayList<>();
        byte[] code = null;
        for (Section s : sections) {
            if (s.id == SEC_CODE) {
                code = rewriteCode(wasm, s, types, addedTypes, funcTypeIndices, facts, fuelGlobal, depthGlobal, depthLimitGlobal);
            }
        }

        WasmWriter out = new WasmWriter();
        out.bytes(MAGIC);
        boolean globalsWritten = false;
        boolean typesWritten = false;
        for (Section s : sections) {
            if (!globalsWritten && s.id != SEC_CUSTOM && placesAfterGlobal(s.id)) {
                writeSection(out, SEC_GLOBAL, newGlobalSection(null, 0));
                globalsWritten = true;
            }
            switch (s.id) {
                case SEC_TYPE -> {
                    writeSection(out, SEC_TYPE, appendTypes(wasm, s, addedTypes));
                    typesWritten = true;
                }
                case SEC_GLOBAL -> {
                    WasmReader gr = new WasmReader(wasm, s.start, s.end);
                    int count = gr.index();
                    writeSection(out, SEC_GLOBAL, newGlobalSection(Arrays.copyOfRange(wasm, gr.pos(), s.end), count));
                    globalsWritten = true;
                }
                case SEC_CODE -> writeSection(out, SEC_CODE, code);
                default -> writeSection(out, s.id, Arrays.copyOfRange(wasm, s.start, s.end));
            }
        }
        if (!globalsWritten) {
            writeSection(out, SEC_GLOBAL, newGlobalSection(null, 0));
        }
        if (!typesWritten && !addedTypes.isEmpty()) {
            throw new IllegalStateException("multi-value block types without a type section");
        }
        return new InstrumentedModule(out.toByteArray(), facts.build());
    }

    /** Sections that must come after the global section in a valid binary. */
    private static boolean placesAfterGlobal(int id) {
        return id == SEC_EXPORT || id == 8 || id == 9 || id == 12 || id == SEC_CODE || id == 11;
    }

    private static void writeSection(WasmWriter out, int id, byte[] body) {
        out.u8(id).u32(body.length).bytes(body);
    }

    private static byte[] newGlobalSection(byte[] existingEntries, int existingCount) {
        WasmWriter w = new WasmWriter();
        w.u32(existingCount + 3L);
        if (existingEntries != null) {
            w.bytes(existingEntries);
        }
        // fuel: mutable i64, starts at 0 and is refilled by the host before every frame
        w.u8(I64).u8(1).u8(0x42).s64(0).u8(0x0B);
        // call depth: mutable i32
        w.u8(I32).u8(1).u8(0x41).s64(0).u8(0x0B);
        // call depth limit: mutable so the host sets it per app without re-instrumenting
        w.u8(I32).u8(1).u8(0x41).s64(0).u8(0x0B);
        return w.toByteArray();
    }

    private static byte[] appendTypes(byte[] wasm, Section s, List<FuncType> added) {
        WasmReader r = new WasmReader(wasm, s.start, s.end);
        int count = r.index();
        WasmWriter w = new WasmWriter();
        w.u32((long) count + added.size());
        w.bytes(wasm, r.pos(), s.end);
        for (FuncType t : added) {
            w.u8(0x60).u32(t.params.length).bytes(t.params).u32(t.results.length).bytes(t.results);
        }
        return w.toByteArray();
    }

    /** A function type as text, {@code (i32,i32)->i32}: how host functions are matched against imports. */
    static String signature(FuncType t) {
        return "(" + valTypeNames(t.params) + ")->" + (t.results.length == 1 ? valTypeNames(t.results) : "(" + valTypeNames(t.results) + ")");
    }

    private static String valTypeNames(byte[] types) {
        StringBuilder b = new StringBuilder();
        for (byte t : types) {
            if (b.length() > 0) {
                b.append(',');
            }
            b.append(switch (t & 0xFF) {
                case I32 -> "i32";
                case I64 -> "i64";
                case F32 -> "f32";
                case F64 -> "f64";
                default -> "0x" + Integer.toHexString(t & 0xFF);
            });
        }
        return b.toString();
    }

    private static void readTypes(byte[] wasm, Section s, List<FuncType> types) {
        WasmReader r = new WasmReader(wasm, s.start, s.end);
        int count = r.index();
        for (int i = 0; i < count; i++) {
            int form = r.u8();
            if (form != 0x60) {
                throw new ModuleRejectedException("type " + i + " has form 0x" + Integer.toHexString(form)
                        + " (GC or recursive types are not supported)", "compile without the GC proposal");
            }
            byte[] params = readValTypes(r);
            byte[] results = readValTypes(r);
            types.add(new FuncType(params, results));
        }
    }

    private static byte[] readValTypes(WasmReader r) {
        int n = r.index();
        if (n > 1000) {
            throw r.malformed("function type with " + n + " values");
        }
        byte[] v = new byte[n];
        for (int i = 0; i < n; i++) {
            v[i] = (byte) valType(r);
        }
        return v;
    }

    private static int valType(WasmReader r) {
        int t = r.u8();
        switch (t) {
            case I32, I64, F32, F64, 0x70, 0x6F:
                return t;
            case 0x7B:
                throw simd();
            default:
                throw new ModuleRejectedException("value type 0x" + Integer.toHexString(t) + " is not supported",
                        "compile for core WebAssembly with wasi preview 1 (no GC or typed function references)");
        }
    }

    private static ModuleRejectedException simd() {
        return new ModuleRejectedException("the module uses SIMD (v128), whose float lanes would leak NaN bits",
                "compile without -msimd128");
    }

    private static void readImports(byte[] wasm, Section s, List<FuncType> types, ModuleFacts.Builder facts) {
        WasmReader r = new WasmReader(wasm, s.start, s.end);
        int count = r.index();
        for (int i = 0; i < count; i++) {
            String module = r.name();
            String name = r.name();
            int kind = r.u8();
            switch (kind) {
                case 0x00 -> {
                    int typeIdx = r.index();
                    if (module.equals("wasi") && name.equals("thread-spawn")) {
                        throw new ModuleRejectedException("the module imports wasi.thread-spawn: threads are not supported",
                                "build for wasm32-wasi, not wasm32-wasi-threads");
                    }
                    if (typeIdx >= types.size()) {
                        throw r.malformed("import " + module + "." + name + " names type " + typeIdx + " of " + types.size());
                    }
                    facts.functionImport(module, name, signature(types.get(typeIdx)));
                }
                case 0x01 -> {
                    valType(r);
                    readLimits(r, "table");
                    facts.tableImport();
                }
                case 0x02 -> {
                    readLimits(r, "memory");
                    throw new ModuleRejectedException("the module imports its memory (" + module + "." + name + ")",
                            "link without --import-memory so the module defines and exports its own memory");
                }
                case 0x03 -> {
                    valType(r);
                    r.u8();
                    facts.globalImport();
                }
                case 0x04 -> throw new ModuleRejectedException("the module imports an exception tag",
                        "compile without exception handling");
                default -> throw r.malformed("unknown import kind " + kind);
            }
        }
    }

    /** Reads limits; returns {min, max or -1}. Rejects shared and 64-bit memories. */
    private static long[] readLimits(WasmReader r, String what) {
        int flags = r.u8();
        if ((flags & 0x02) != 0) {
            throw new ModuleRejectedException("the module declares a shared " + what + " (threads)",
                    "build without -pthread / shared memory; Replicode runs one thread per guest");
        }
        if ((flags & 0x04) != 0) {
            throw new ModuleRejectedException("the module uses a 64-bit " + what, "build for wasm32, not wasm64");
        }
        if (flags > 1) {
            throw r.malformed("unknown limits flags " + flags);
        }
        long min = r.u32();
        long max = (flags & 1) != 0 ? r.u32() : -1;
        return new long[] {min, max};
    }

    private static void readFunctions(byte[] wasm, Section s, List<Integer> funcTypeIndices) {
        WasmReader r = new WasmReader(wasm, s.start, s.end);
        int count = r.index();
        for (int i = 0; i < count; i++) {
            funcTypeIndices.add(r.index());
        }
    }

    private static void readMemories(byte[] wasm, Section s, ModuleFacts.Builder facts) {
        WasmReader r = new WasmReader(wasm, s.start, s.end);
        int count = r.index();
        if (count > 1) {
            throw new ModuleRejectedException("the module defines " + count + " memories", "use a single memory");
        }
        for (int i = 0; i < count; i++) {
            long[] limits = readLimits(r, "memory");
            facts.memory((int) limits[0], (int) limits[1]);
        }
    }

    private static void readGlobals(byte[] wasm, Section s, ModuleFacts.Builder facts) {
        WasmReader r = new WasmReader(wasm, s.start, s.end);
        int count = r.index();
        for (int i = 0; i < count; i++) {
            int type = valType(r);
            boolean mutable = r.u8() == 1;
            // An init expression that is a lone i32.const is remembered: the stack pointer is one.
            int op = r.u8();
            Long constValue = null;
            if (op == 0x41) {
                constValue = r.sleb(32);
                op = r.u8();
            } else {
                op = skipConstExpr(r, op);
            }
            if (op != 0x0B) {
                constValue = null;
                op = skipConstExpr(r, op);
            }
            facts.definedGlobal(type, mutable, constValue);
        }
    }

    /** Skips a constant expression whose first opcode was already read; returns the final 0x0B. */
    private static int skipConstExpr(WasmReader r, int op) {
        while (op != 0x0B) {
            switch (op) {
                case 0x41, 0x42 -> r.sleb(64);
                case 0x43 -> r.skip(4);
                case 0x44 -> r.skip(8);
                case 0x23, 0xD2 -> r.index();
                case 0xD0 -> r.u8();
                case 0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E -> { }
                case 0xFD -> throw simd();
                default -> throw r.malformed("unsupported opcode 0x" + Integer.toHexString(op) + " in constant expression");
            }
            op = r.u8();
        }
        return op;
    }

    private static void readExports(byte[] wasm, Section s, ModuleFacts.Builder facts) {
        WasmReader r = new WasmReader(wasm, s.start, s.end);
        int count = r.index();
        for (int i = 0; i < count; i++) {
            String name = r.name();
            int kind = r.u8();
            int index = r.index();
            facts.export(name, kind, index);
        }
    }

    /** Reads global names from the "name" section, to find {@code __stack_pointer} when present. */
    private static void readCustom(byte[] wasm, Section s, ModuleFacts.Builder facts) {
        WasmReader r = new WasmReader(wasm, s.start, s.end);
        String name = r.name();
        if (!name.equals("name")) {
            return;
        }
        try {
            while (!r.atEnd()) {
                int sub = r.u8();
                int size = r.index();
                int end = r.pos() + size;
                if (sub == 7) {
                    int n = r.index();
                    for (int i = 0; i < n; i++) {
                        int idx = r.index();
                        String gname = r.name();
                        facts.globalName(idx, gname);
                    }
                }
                r.skip(end - r.pos());
            }
        } catch (ModuleRejectedException ignored) {
            // A broken name section only costs us names; Chicory ignores it too.
        }
    }

    private static byte[] rewriteCode(byte[] wasm, Section s, List<FuncType> types, List<FuncType> addedTypes,
                                      List<Integer> funcTypeIndices, ModuleFacts.Builder facts,
                                      int fuelGlobal, int depthGlobal, int depthLimitGlobal) {
        WasmReader r = new WasmReader(wasm, s.start, s.end);
        int count = r.index();
        if (count != funcTypeIndices.size()) {
            throw r.malformed("code section has " + count + " bodies for " + funcTypeIndices.size() + " functions");
        }
        WasmWriter out = new WasmWriter();
        out.u32(count);
        FunctionRewriter fr = new FunctionRewriter(wasm, fuelGlobal, depthGlobal, depthLimitGlobal);
        for (int i = 0; i < count; i++) {
            int size = r.index();
            int start = r.pos();
            r.skip(size);
            int typeIdx = funcTypeIndices.get(i);
            if (typeIdx >= types.size()) {
                throw r.malformed("function " + i + " has unknown type " + typeIdx);
            }
            FuncType type = types.get(typeIdx);
            int blockType = wrapperBlockType(type, types, addedTypes);
            byte[] body = fr.rewrite(start, start + size, type, blockType, facts.importedFunctionCount() + i);
            out.u32(body.length).bytes(body);
        }
        facts.canonicalizedFloatOps(fr.canonicalizedOps());
        return out.toByteArray();
    }

    /** Block type of the wrapper block: empty, one value type, or a type index for multi-value results. */
    private static int wrapperBlockType(FuncType type, List<FuncType> types, List<FuncType> addedTypes) {
        if (type.results.length == 0) {
            return -0x40;
        }
        if (type.results.length == 1) {
            return -(type.results[0] & 0xFF);
        }
        for (int i = 0; i < types.size(); i++) {
            FuncType t = types.get(i);
            if (t.params.length == 0 && Arrays.equals(t.results, type.results)) {
                return i;
            }
        }
        for (int i = 0; i < addedTypes.size(); i++) {
            if (Arrays.equals(addedTypes.get(i).results, type.results)) {
                return types.size() + i;
            }
        }
        addedTypes.add(new FuncType(new byte[0], type.results));
        return types.size() + addedTypes.size() - 1;
    }
}
