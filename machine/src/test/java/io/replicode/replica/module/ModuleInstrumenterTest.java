package io.replicode.replica.module;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.dylibso.chicory.compiler.MachineFactoryCompiler;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.wasm.ChicoryException;
import com.dylibso.chicory.wasm.Parser;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The instrumenter's rewrite keeps modules valid and equivalent, and refuses what is not deterministic. */
class ModuleInstrumenterTest {

    /** Minimal hand assembler: sections from raw bytes, with LEB128 sizes. */
    private static final class Wasm {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Wasm() {
            out.writeBytes(new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0});
        }

        Wasm section(int id, int... body) {
            byte[] b = bytes(body);
            out.write(id);
            leb(out, b.length);
            out.writeBytes(b);
            return this;
        }

        byte[] build() {
            return out.toByteArray();
        }

        static byte[] bytes(int... v) {
            byte[] b = new byte[v.length];
            for (int i = 0; i < v.length; i++) {
                b[i] = (byte) v[i];
            }
            return b;
        }

        static void leb(ByteArrayOutputStream o, long v) {
            do {
                int b = (int) (v & 0x7F);
                v >>>= 7;
                o.write(v != 0 ? b | 0x80 : b);
            } while (v != 0);
        }
    }

    /** Concatenates a code entry: size prefix + body. */
    private static int[] code(int... body) {
        int[] out = new int[body.length + 1];
        out[0] = body.length;
        System.arraycopy(body, 0, out, 1, body.length);
        return out;
    }

    private static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) {
            n += p.length;
        }
        int[] out = new int[n];
        int pos = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, pos, p.length);
            pos += p.length;
        }
        return out;
    }

    private static int[] name(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        int[] out = new int[b.length + 1];
        out[0] = b.length;
        for (int i = 0; i < b.length; i++) {
            out[i + 1] = b[i];
        }
        return out;
    }

    /**
     * Module: global 0 = counter (mut i32); func 0 "pick"(i32)->i32 returns early from inside two blocks;
     * func 1 "spin"() loops forever incrementing the counter; func 2 "calls"(i32) calls pick n times.
     */
    private static byte[] sample() {
        return new Wasm()
                .section(1, 3, 0x60, 1, 0x7F, 1, 0x7F, 0x60, 0, 0, 0x60, 1, 0x7F, 0)
                .section(3, 3, 0, 1, 2)
                .section(5, 1, 0, 1)
                .section(6, 1, 0x7F, 1, 0x41, 0, 0x0B)
                .section(7, concat(new int[] {3}, name("pick"), new int[] {0, 0}, name("spin"), new int[] {0, 1},
                        name("calls"), new int[] {0, 2}))
                .section(10, concat(new int[] {3},
                        // pick: block block local.get 0 br_if 1 i32.const 7 return end end i32.const 9
                        code(0, 0x02, 0x40, 0x02, 0x40, 0x20, 0, 0x0D, 1, 0x41, 7, 0x0F, 0x0B, 0x0B, 0x41, 9, 0x0B),
                        // spin: loop global.get 0 i32.const 1 i32.add global.set 0 br 0 end
                        code(0, 0x03, 0x40, 0x23, 0, 0x41, 1, 0x6A, 0x24, 0, 0x0C, 0, 0x0B, 0x0B),
                        // calls: loop local.get 0 call pick drop local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0 end
                        code(0, 0x03, 0x40, 0x20, 0, 0x10, 0, 0x1A, 0x20, 0, 0x41, 1, 0x6B, 0x22, 0, 0x0D, 0, 0x0B, 0x0B)))
                .build();
    }

    private static Instance instantiate(InstrumentedModule m, Engine engine) {
        var module = Parser.parse(m.bytes());
        var b = Instance.builder(module);
        if (engine == Engine.COMPILER) {
            b.withMachineFactory(MachineFactoryCompiler.compile(module));
        }
        Instance i = b.build();
        i.global(m.facts().depthLimitGlobal()).setValue(100);
        return i;
    }

    @Test
    void early_return_keeps_results_and_balances_call_depth() {
        InstrumentedModule m = ModuleInstrumenter.instrument(sample());
        for (Engine engine : Engine.values()) {
            Instance i = instantiate(m, engine);
            i.global(m.facts().fuelGlobal()).setValue(1_000_000);
            assertEquals(7, i.export("pick").apply(0)[0], "falls through to the early return");
            assertEquals(9, i.export("pick").apply(1)[0], "branches out past the return");
            i.export("calls").apply(50);
            assertEquals(0, i.global(m.facts().depthGlobal()).getValue(), "every exit path decrements the depth");
        }
    }

    @Test
    void endless_loop_stops_at_the_same_iteration_in_both_engines() {
        InstrumentedModule m = ModuleInstrumenter.instrument(sample());
        long[] counters = new long[2];
        for (Engine engine : Engine.values()) {
            Instance i = instantiate(m, engine);
            i.global(m.facts().fuelGlobal()).setValue(10_000);
            assertThrows(ChicoryException.class, () -> i.export("spin").apply());
            assertTrue(i.global(m.facts().fuelGlobal()).getValue() < 0, "it was the fuel check that trapped");
            counters[engine.ordinal()] = i.global(0).getValue();
        }
        assertEquals(counters[0], counters[1]);
        // Entry costs 2 (loop + end) and each iteration 6 instructions: (10000 - 2) / 6 iterations complete.
        assertEquals((10_000 - 2) / 6, counters[0]);
    }

    @Test
    void call_depth_limit_traps_deterministically() {
        InstrumentedModule m = ModuleInstrumenter.instrument(sample());
        Instance i = instantiate(m, Engine.COMPILER);
        i.global(m.facts().fuelGlobal()).setValue(1_000_000);
        i.global(m.facts().depthLimitGlobal()).setValue(1);
        assertThrows(ChicoryException.class, () -> i.export("calls").apply(3), "calls -> pick is depth 2 > 1");
        assertEquals(2, i.global(m.facts().depthGlobal()).getValue());
    }

    @Test
    void new_globals_are_appended_after_existing_ones() {
        ModuleFacts f = ModuleInstrumenter.instrument(sample()).facts();
        assertEquals(1, f.fuelGlobal());
        assertEquals(2, f.depthGlobal());
        assertEquals(3, f.depthLimitGlobal());
    }

    @Test
    void not_wasm_rejected() {
        var e = assertThrows(ModuleRejectedException.class, () -> ModuleInstrumenter.instrument("hello".getBytes()));
        assertTrue(e.getMessage().contains("not a WebAssembly module"), e.getMessage());
        assertTrue(e.getMessage().contains("Fix:"));
    }

    @Test
    void thread_spawn_import_rejected() {
        byte[] wasm = new Wasm()
                .section(1, 1, 0x60, 1, 0x7F, 0)
                .section(2, concat(new int[] {1}, name("wasi"), name("thread-spawn"), new int[] {0, 0}))
                .build();
        var e = assertThrows(ModuleRejectedException.class, () -> ModuleInstrumenter.instrument(wasm));
        assertTrue(e.getMessage().contains("threads are not supported"), e.getMessage());
    }

    @Test
    void shared_memory_rejected() {
        byte[] wasm = new Wasm().section(5, 1, 3, 1, 2).build();
        var e = assertThrows(ModuleRejectedException.class, () -> ModuleInstrumenter.instrument(wasm));
        assertTrue(e.getMessage().contains("shared memory"), e.getMessage());
    }

    @Test
    void simd_rejected() {
        byte[] wasm = new Wasm()
                .section(1, 1, 0x60, 0, 0)
                .section(3, 1, 0)
                .section(5, 1, 0, 1)
                // v128.const 0 (16 bytes) drop
                .section(10, concat(new int[] {1}, code(0, 0xFD, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1A, 0x0B)))
                .build();
        var e = assertThrows(ModuleRejectedException.class, () -> ModuleInstrumenter.instrument(wasm));
        assertTrue(e.getMessage().contains("SIMD"), e.getMessage());
    }

    @Test
    void atomics_rejected() {
        byte[] wasm = new Wasm()
                .section(1, 1, 0x60, 0, 0)
                .section(3, 1, 0)
                .section(5, 1, 0, 1)
                .section(10, concat(new int[] {1}, code(0, 0xFE, 3, 0, 0x0B)))
                .build();
        var e = assertThrows(ModuleRejectedException.class, () -> ModuleInstrumenter.instrument(wasm));
        assertTrue(e.getMessage().contains("atomic"), e.getMessage());
    }

    @Test
    void truncated_module_rejected_with_offset() {
        byte[] full = sample();
        byte[] cut = java.util.Arrays.copyOf(full, full.length - 5);
        var e = assertThrows(ModuleRejectedException.class, () -> ModuleInstrumenter.instrument(cut));
        assertTrue(e.getMessage().contains("malformed module at byte"), e.getMessage());
    }

    @Test
    void foreign_imports_and_missing_start_rejected_at_load() {
        byte[] envImport = new Wasm()
                .section(1, 1, 0x60, 0, 0)
                .section(2, concat(new int[] {1}, name("env"), name("now"), new int[] {0, 0}))
                .section(5, 1, 0, 1)
                .build();
        var e = assertThrows(ModuleRejectedException.class, () -> GuestModule.load(envImport, Engine.INTERPRETER));
        assertTrue(e.getMessage().contains("imports env.now"), e.getMessage());
        var noStart = assertThrows(ModuleRejectedException.class, () -> GuestModule.load(sample(), Engine.INTERPRETER));
        assertTrue(noStart.getMessage().contains("no _start"), noStart.getMessage());
    }
}
