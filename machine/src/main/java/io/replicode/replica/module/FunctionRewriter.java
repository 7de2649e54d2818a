package io.replicode.replica.module;

import java.util.Arrays;

/**
 * Rewrites one function body for {@link ModuleInstrumenter}: fuel at entry and loop headers, the
 * call-depth counter around the body, and NaN canonicalisation after float operations.
 *
 * <p>Two passes over the original bytes: the first decodes every instruction (to learn where they
 * start and end, the fuel cost of each region and whether float temporaries are needed), the second
 * copies the original bytes and inserts our sequences. Original instructions are copied verbatim, so
 * their LEB128 encodings, and every index, stay as they were.
 */
final class FunctionRewriter {
    private static final int OP_BLOCK = 0x02;
    private static final int OP_LOOP = 0x03;
    private static final int OP_IF = 0x04;
    private static final int OP_ELSE = 0x05;
    private static final int OP_END = 0x0B;
    private static final int OP_RETURN = 0x0F;
    private static final int OP_RETURN_CALL = 0x12;
    private static final int OP_RETURN_CALL_INDIRECT = 0x13;

    private static final int MAX_INSTRUCTIONS = 1 << 24;

    private final byte[] wasm;
    private final int fuelGlobal;
    private final int depthGlobal;
    private final int depthLimitGlobal;
    /** This function's locals for the counters' new values (see {@link #emitFuel}). */
    private long fuelTemp;
    private long depthTemp;
    private long canonicalizedOps;

    // Decoded instructions of the current function (reused between functions).
    private int[] starts = new int[1024];
    private int[] ends = new int[1024];
    private int[] opcodes = new int[1024];
    private long[] loopCost = new long[1024];
    private int[] depthAt = new int[1024];
    private int n;

    FunctionRewriter(byte[] wasm, int fuelGlobal, int depthGlobal, int depthLimitGlobal) {
        this.wasm = wasm;
        this.fuelGlobal = fuelGlobal;
        this.depthGlobal = depthGlobal;
        this.depthLimitGlobal = depthLimitGlobal;
    }

    long canonicalizedOps() {
        return canonicalizedOps;
    }

    byte[] rewrite(int from, int to, ModuleInstrumenter.FuncType type, int wrapperBlockType, int funcIndex) {
        WasmReader r = new WasmReader(wasm, from, to);
        int localGroups = r.index();
        long localCount = type.params().length;
        for (int i = 0; i < localGroups; i++) {
            localCount += r.u32();
            int t = r.u8();
            if (t == 0x7B) {
                throw new ModuleRejectedException("function " + funcIndex + " has a v128 local (SIMD)", "compile without -msimd128");
            }
        }
        if (localCount > 50_000) {
            throw new ModuleRejectedException("function " + funcIndex + " declares " + localCount + " locals",
                    "split the function; engines limit locals to 50000");
        }
        int localsEnd = r.pos();
        long entryCost = decode(r, funcIndex);
        boolean needsF32 = false;
        boolean needsF64 = false;
        for (int i = 0; i < n; i++) {
            int kind = floatKind(opcodes[i]);
            needsF32 |= kind == FLOAT32;
            needsF64 |= kind == FLOAT64;
        }

        WasmWriter out = new WasmWriter();
        // Locals: the original groups, then the counters' temporaries (an i64 for fuel, an i32 for the depth), then our
        // float temporaries. Added after the module was asyncified, they are not saved when it unwinds: the fuel's is
        // read right after it is set, the depth's is set again on every entry, a rewind's included.
        int extraGroups = 2 + (needsF32 ? 1 : 0) + (needsF64 ? 1 : 0);
        out.u32((long) localGroups + extraGroups);
        WasmReader lr = new WasmReader(wasm, from, to);
        lr.index();
        out.bytes(wasm, lr.pos(), localsEnd);
        long tempF32 = -1;
        long tempF64 = -1;
        long next = localCount;
        out.u32(1).u8(0x7E);
        fuelTemp = next++;
        out.u32(1).u8(0x7F);
        depthTemp = next++;
        if (needsF32) {
            out.u32(1).u8(0x7D);
            tempF32 = next++;
        }
        if (needsF64) {
            out.u32(1).u8(0x7C);
            tempF64 = next;
        }

        emitFuel(out, entryCost);
        // d = depth + 1; depth = d; if d > limit: unreachable
        out.u8(0x23).u32(depthGlobal).u8(0x41).s64(1).u8(0x6A).u8(0x22).u32(depthTemp).u8(0x24).u32(depthGlobal);
        out.u8(0x20).u32(depthTemp).u8(0x23).u32(depthLimitGlobal).u8(0x4B);
        out.u8(OP_IF).u8(0x40).u8(0x00).u8(OP_END);

        out.u8(OP_BLOCK);
        if (wrapperBlockType < 0) {
            out.u8(-wrapperBlockType);
        } else {
            out.s64(wrapperBlockType);
        }
        // All instructions but the function's final end.
        for (int i = 0; i < n - 1; i++) {
            int op = opcodes[i];
            if (op == OP_RETURN) {
                // The wrapper block sits where the function label was, so the same depth reaches it.
                out.u8(0x0C).u32(depthAt[i]);
                continue;
            }
            if (op == OP_RETURN_CALL || op == OP_RETURN_CALL_INDIRECT) {
                emitDepthDecrement(out);
            }
            out.bytes(wasm, starts[i], ends[i]);
            if (op == OP_LOOP) {
                emitFuel(out, loopCost[i]);
            }
            int kind = floatKind(op);
            if (kind == FLOAT32) {
                // local.tee t; f32.const canonical; local.get t; local.get t; f32.eq; select
                out.u8(0x22).u32(tempF32).u8(0x43).u8(0x00).u8(0x00).u8(0xC0).u8(0x7F)
                        .u8(0x20).u32(tempF32).u8(0x20).u32(tempF32).u8(0x5B).u8(0x1B);
                canonicalizedOps++;
            } else if (kind == FLOAT64) {
                out.u8(0x22).u32(tempF64).u8(0x44).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0xF8).u8(0x7F)
                        .u8(0x20).u32(tempF64).u8(0x20).u32(tempF64).u8(0x61).u8(0x1B);
                canonicalizedOps++;
            }
        }
        out.u8(OP_END);
        emitDepthDecrement(out);
        out.u8(OP_END);
        return out.toByteArray();
    }

    private static final int FLOAT32 = 1;
    private static final int FLOAT64 = 2;

    /** Whether an opcode can produce a NaN whose bits depend on the CPU, and of which width. */
    private static int floatKind(int op) {
        if ((op >= 0x8D && op <= 0x97) || op == 0xB6) {
            return FLOAT32;
        }
        if ((op >= 0x9B && op <= 0xA5) || op == 0xBB) {
            return FLOAT64;
        }
        return 0;
    }

    /*
     * The counters live in globals, and each global access in Chicory's compiled code is a call through the instance's
     * global table: the kv guest spent about a sixth of its replicas' time in them. So each counter is read once per
     * check and the value kept in a local (local.tee) instead of being read back from the global.
     */
    private void emitFuel(WasmWriter out, long cost) {
        // f = fuel - cost; fuel = f; if f < 0: unreachable
        out.u8(0x23).u32(fuelGlobal).u8(0x42).s64(cost).u8(0x7D).u8(0x22).u32(fuelTemp).u8(0x24).u32(fuelGlobal);
        out.u8(0x20).u32(fuelTemp).u8(0x42).s64(0).u8(0x53);
        out.u8(OP_IF).u8(0x40).u8(0x00).u8(OP_END);
    }

    private void emitDepthDecrement(WasmWriter out) {
        // depth = d - 1: every call this one made has given its level back, so the global holds d again
        out.u8(0x20).u32(depthTemp).u8(0x41).s64(1).u8(0x6B).u8(0x24).u32(depthGlobal);
    }

    /**
     * Decodes the function's instructions into the arrays; returns the fuel cost of the function-level
     * region. Each instruction costs 1 and is charged to the innermost enclosing loop, or to the entry.
     */
    private long decode(WasmReader r, int funcIndex) {
        n = 0;
        // Control stack: index of the opening instruction, or -1 for block/if (charged to the enclosing loop).
        int[] control = new int[64];
        int controlDepth = 0;
        // Stack of regions being charged: -1 = function entry, otherwise the loop's instruction index.
        int[] regions = new int[64];
        int regionDepth = 0;
        regions[regionDepth++] = -1;
        long entryCost = 0;
        boolean done = false;
        while (!done) {
            if (r.atEnd()) {
                throw r.malformed("function " + funcIndex + " body ends without 'end'");
            }
            if (n == starts.length) {
                grow();
            }
            if (n >= MAX_INSTRUCTIONS) {
                throw new ModuleRejectedException("function " + funcIndex + " has more than " + MAX_INSTRUCTIONS + " instructions",
                        "split the function");
            }
            int start = r.pos();
            int op = r.u8();
            int fullOp = op;
            depthAt[n] = controlDepth;
            int region = regions[regionDepth - 1];
            if (region < 0) {
                entryCost++;
            } else {
                loopCost[region]++;
            }
            switch (op) {
                case OP_BLOCK, OP_IF, OP_LOOP -> {
                    blockType(r);
                    if (controlDepth == control.length) {
                        control = Arrays.copyOf(control, controlDepth * 2);
                    }
                    control[controlDepth++] = op == OP_LOOP ? n : -1;
                    if (op == OP_LOOP) {
                        if (regionDepth == regions.length) {
                            regions = Arrays.copyOf(regions, regionDepth * 2);
                        }
                        regions[regionDepth++] = n;
                        loopCost[n] = 0;
                    }
                }
                case OP_END -> {
                    if (controlDepth == 0) {
                        done = true;
                    } else {
                        int opened = control[--controlDepth];
                        if (opened >= 0) {
                            regionDepth--;
                        }
                    }
                }
                default -> fullOp = immediates(r, op, funcIndex);
            }
            starts[n] = start;
            ends[n] = r.pos();
            opcodes[n] = fullOp;
            n++;
        }
        if (!r.atEnd()) {
            throw r.malformed("function " + funcIndex + " has bytes after its final 'end'");
        }
        return entryCost;
    }

    private void grow() {
        int size = starts.length * 2;
        starts = Arrays.copyOf(starts, size);
        ends = Arrays.copyOf(ends, size);
        opcodes = Arrays.copyOf(opcodes, size);
        loopCost = Arrays.copyOf(loopCost, size);
        depthAt = Arrays.copyOf(depthAt, size);
    }

    private static void blockType(WasmReader r) {
        int b = r.u8();
        if (b == 0x40 || b == 0x7F || b == 0x7E || b == 0x7D || b == 0x7C || b == 0x70 || b == 0x6F) {
            return;
        }
        if (b == 0x7B) {
            throw new ModuleRejectedException("a block yields v128 (SIMD)", "compile without -msimd128");
        }
        if (b == 0x63 || b == 0x64) {
            throw new ModuleRejectedException("typed function references are not supported", "compile for core WebAssembly");
        }
        // A type index as signed LEB128 (s33): re-read from the first byte.
        long v = b & 0x7F;
        int shift = 7;
        while ((b & 0x80) != 0) {
            b = r.u8();
            v |= (long) (b & 0x7F) << shift;
            shift += 7;
            if (shift > 35) {
                throw r.malformed("block type index too long");
            }
        }
    }

    /** Skips the immediates of {@code op}; returns the opcode to remember (prefixed ops get 0x100 | sub). */
    private static int immediates(WasmReader r, int op, int funcIndex) {
        switch (op) {
            case 0x00, 0x01, OP_ELSE, OP_RETURN, 0x1A, 0x1B, 0xD1:
                return op;
            case 0x0C, 0x0D, 0x10, OP_RETURN_CALL, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0xD2:
                r.u32();
                return op;
            case 0x0E: {
                int count = r.index();
                for (int i = 0; i <= count; i++) {
                    r.u32();
                }
                return op;
            }
            case 0x11, OP_RETURN_CALL_INDIRECT:
                r.u32();
                r.u32();
                return op;
            case 0x1C: {
                int count = r.index();
                for (int i = 0; i < count; i++) {
                    int t = r.u8();
                    if (t == 0x7B) {
                        throw new ModuleRejectedException("select on v128 (SIMD)", "compile without -msimd128");
                    }
                }
                return op;
            }
            case 0x3F, 0x40:
                r.u32();
                return op;
            case 0x41:
                r.sleb(32);
                return op;
            case 0x42:
                r.sleb(64);
                return op;
            case 0x43:
                r.skip(4);
                return op;
            case 0x44:
                r.skip(8);
                return op;
            case 0xD0:
                r.u8();
                return op;
            case 0xFC:
                return 0x100 | prefixedFC(r);
            case 0xFD:
                throw new ModuleRejectedException("function " + funcIndex + " uses SIMD instructions, whose float lanes would leak NaN bits",
                        "compile without -msimd128");
            case 0xFE:
                throw new ModuleRejectedException("function " + funcIndex + " uses atomic (threads) instructions",
                        "build for wasm32-wasi without -pthread or -matomics");
            case 0x06, 0x07, 0x08, 0x09, 0x0A, 0x18, 0x19, 0x1F:
                throw new ModuleRejectedException("function " + funcIndex + " uses exception handling",
                        "compile without -fwasm-exceptions");
            default:
                if (op >= 0x28 && op <= 0x3E) {
                    long align = r.u32();
                    if ((align & 0x40) != 0) {
                        r.u32();
                    }
                    r.u32();
                    return op;
                }
                if (op >= 0x45 && op <= 0xC4) {
                    return op;
                }
                throw new ModuleRejectedException("function " + funcIndex + " uses opcode 0x" + Integer.toHexString(op)
                        + ", which Replicode does not support", "compile for WebAssembly MVP plus bulk memory and sign extension");
        }
    }

    private static int prefixedFC(WasmReader r) {
        int sub = (int) r.u32();
        switch (sub) {
            case 0, 1, 2, 3, 4, 5, 6, 7 -> { }
            case 8, 10, 12, 14 -> {
                r.u32();
                r.u32();
            }
            case 9, 11, 13, 15, 16, 17 -> r.u32();
            default -> throw new ModuleRejectedException("unsupported 0xFC instruction " + sub,
                    "compile for WebAssembly MVP plus bulk memory and sign extension");
        }
        return sub;
    }
}
