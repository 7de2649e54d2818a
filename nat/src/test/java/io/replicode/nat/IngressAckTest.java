package io.replicode.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class IngressAckTest {
    @Test
    void round_trips() {
        IngressAck a = new IngressAck("kv-é", 1L << 40);
        assertEquals(a, IngressAck.decode(a.encode()));
    }

    @Test
    void every_truncation_and_a_wrong_version_are_codec_errors() {
        byte[] b = new IngressAck("kv", 7).encode();
        for (int n = 0; n < b.length; n++) {
            byte[] cut = Arrays.copyOf(b, n);
            assertThrows(CodecException.class, () -> IngressAck.decode(cut), "cut at " + n);
        }
        byte[] longer = Arrays.copyOf(b, b.length + 1);
        assertThrows(CodecException.class, () -> IngressAck.decode(longer));
        b[0] = 9;
        assertThrows(CodecException.class, () -> IngressAck.decode(b));
    }
}
