package io.replicode.replica.machine;

import java.util.Locale;

/** Maps the engines' trap messages to the wording of the WebAssembly spec, so every engine reports the same reason. */
final class TrapMessages {
    private TrapMessages() {}

    static String canonical(String message) {
        String m = message.toLowerCase(Locale.ROOT);
        if (m.contains("unreachable")) {
            return "unreachable";
        }
        if (m.contains("out of bounds memory")) {
            return "out of bounds memory access";
        }
        if (m.contains("divide by zero") || m.contains("division by zero") || m.contains("/ by zero")) {
            return "integer divide by zero";
        }
        if (m.contains("integer overflow")) {
            return "integer overflow";
        }
        if (m.contains("invalid conversion")) {
            return "invalid conversion to integer";
        }
        if (m.contains("indirect call type mismatch") || m.contains("type mismatch")) {
            return "indirect call type mismatch";
        }
        if (m.contains("undefined element") || m.contains("out of bounds table")) {
            return "undefined element";
        }
        if (m.contains("uninitialized element") || m.contains("null function") || m.contains("null reference")) {
            return "uninitialized element";
        }
        if (m.contains("call stack exhausted")) {
            return "call stack exhausted";
        }
        return m;
    }
}
