package io.replicode.replica.module;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the host needs to know about an instrumented module: its WASI imports, exports, memory limits,
 * where our fuel and depth globals are, and which global is the C stack pointer.
 */
public record ModuleFacts(
        List<String> functionImports,
        Map<String, String> importSignatures,
        Map<String, Integer> exportedFunctions,
        int importedGlobals,
        int definedGlobals,
        int memoryInitialPages,
        int memoryMaximumPages,
        int fuelGlobal,
        int depthGlobal,
        int depthLimitGlobal,
        int stackPointerGlobal,
        long stackPointerInit,
        long canonicalizedFloatOps) {

    /** Whether {@code wasm-opt --asyncify} instrumented the module, so it can park between frames. */
    public boolean asyncified() {
        return exportedFunctions.containsKey("asyncify_start_unwind")
                && exportedFunctions.containsKey("asyncify_stop_unwind")
                && exportedFunctions.containsKey("asyncify_start_rewind")
                && exportedFunctions.containsKey("asyncify_stop_rewind");
    }

    static final class Builder {
        private final List<String> functionImports = new ArrayList<>();
        private final Map<String, String> importSignatures = new LinkedHashMap<>();
        private final Map<String, Integer> exportedFunctions = new LinkedHashMap<>();
        private final Map<Integer, String> globalNames = new HashMap<>();
        private final List<Long> globalConstInits = new ArrayList<>();
        private final List<Boolean> globalMutableI32 = new ArrayList<>();
        private int importedGlobals;
        private int memoryInitial = -1;
        private int memoryMaximum = -1;
        private int fuelGlobal;
        private int depthGlobal;
        private int depthLimitGlobal;
        private long canonicalized;

        void functionImport(String module, String name, String signature) {
            functionImports.add(module + "." + name);
            importSignatures.put(module + "." + name, signature);
        }

        int importedFunctionCount() {
            return functionImports.size();
        }

        void tableImport() {}

        void globalImport() {
            importedGlobals++;
        }

        void memory(int initial, int maximum) {
            memoryInitial = initial;
            memoryMaximum = maximum;
        }

        void definedGlobal(int type, boolean mutable, Long constInit) {
            globalConstInits.add(constInit);
            globalMutableI32.add(mutable && type == 0x7F);
        }

        int globalCount() {
            return importedGlobals + globalConstInits.size();
        }

        void export(String name, int kind, int index) {
            if (kind == 0) {
                exportedFunctions.put(name, index);
            }
        }

        void globalName(int index, String name) {
            globalNames.put(index, name);
        }

        void instrumentationGlobals(int fuel, int depth, int depthLimit) {
            fuelGlobal = fuel;
            depthGlobal = depth;
            depthLimitGlobal = depthLimit;
        }

        void canonicalizedFloatOps(long count) {
            canonicalized = count;
        }

        ModuleFacts build() {
            if (memoryInitial < 0) {
                throw new ModuleRejectedException("the module defines no memory",
                        "link a normal wasm32-wasi program; it defines and exports 'memory'");
            }
            int sp = stackPointer();
            long spInit = sp >= 0 ? globalConstInits.get(sp - importedGlobals) : 0;
            return new ModuleFacts(List.copyOf(functionImports), java.util.Collections.unmodifiableMap(importSignatures),
                    Map.copyOf(exportedFunctions), importedGlobals,
                    globalConstInits.size(), memoryInitial, memoryMaximum, fuelGlobal, depthGlobal, depthLimitGlobal,
                    sp, spInit, canonicalized);
        }

        /**
         * The C stack pointer: the global the name section calls {@code __stack_pointer}, else (stripped
         * modules) wasm-ld's convention of the first defined global, mutable i32 with a constant init.
         */
        private int stackPointer() {
            for (var e : globalNames.entrySet()) {
                if (e.getValue().equals("__stack_pointer") && e.getKey() >= importedGlobals) {
                    int local = e.getKey() - importedGlobals;
                    if (local < globalConstInits.size() && globalConstInits.get(local) != null && globalMutableI32.get(local)) {
                        return e.getKey();
                    }
                }
            }
            if (!globalConstInits.isEmpty() && globalMutableI32.get(0) && globalConstInits.get(0) != null
                    && globalConstInits.get(0) > 0 && (globalConstInits.get(0) & 15) == 0) {
                return importedGlobals;
            }
            return -1;
        }
    }
}
