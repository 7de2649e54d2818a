package io.replicode.replica.wasi.fs;

import io.replicode.replica.wasi.Errno;
import io.replicode.replica.wasi.WasiException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** UTF-8 for names and paths: strict decoding, byte lengths, and the byte-wise order of listings. */
public final class Utf8 {
    private Utf8() {}

    /**
     * Decodes a path the guest passed; invalid UTF-8 is {@code ILSEQ}, as wasmtime answers. The WASI layer
     * calls this on the bytes it reads from guest memory.
     */
    public static String decodePath(byte[] bytes, int offset, int length, String op) {
        try {
            return decodeStrict(bytes, offset, length);
        } catch (CharacterCodingException e) {
            throw new WasiException(Errno.ILSEQ, op + ": path is not valid UTF-8");
        }
    }

    static String decodeStrict(byte[] bytes, int offset, int length) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes, offset, length))
                .toString();
    }

    static byte[] encode(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The UTF-8 length of {@code s}, or -1 if it holds a lone surrogate (which has no UTF-8 form). */
    static int length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c)) {
                if (i + 1 == s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
                    return -1;
                }
                n += 4;
                i++;
            } else if (Character.isLowSurrogate(c)) {
                return -1;
            } else {
                n += 3;
            }
        }
        return n;
    }

    /**
     * Orders strings as their UTF-8 bytes compare (unsigned), which is code point order. {@link
     * String#compareTo} compares UTF-16 units and would put U+FF00 after U+10000.
     */
    static int compare(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    }
}
