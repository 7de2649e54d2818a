package io.replicode.gateway.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import java.util.List;
import org.junit.jupiter.api.Test;

class UnackedBatchesTest {
    private static IngressBatch batch(long seq) {
        return new IngressBatch(9, seq, List.of(new IngressEvent.Data(seq, new byte[] {(byte) seq})));
    }

    @Test
    void unacknowledged_batches_are_resent_in_order_and_acks_forget_them() {
        UnackedBatches u = new UnackedBatches();
        for (long s = 1; s <= 5; s++) {
            u.sent("kv", batch(s), 10, 100 + s);
        }
        u.sent("image", batch(1), 7, 100);
        u.ack("kv", 2);
        assertEquals(3, u.count("kv"));
        assertEquals(37, u.bytes());
        assertEquals(List.of(batch(3), batch(4), batch(5)), u.resend("kv", 500));
        assertEquals(List.of(batch(1)), u.resend("image", 500));
        u.ack("kv", 9);
        assertEquals(0, u.count("kv"));
        assertEquals(List.of(), u.resend("kv", 600));
        assertEquals(4, u.resent());
        assertEquals(5, u.acked());
    }

    @Test
    void a_batch_is_stale_when_its_last_send_is_older_than_the_deadline() {
        UnackedBatches u = new UnackedBatches();
        assertFalse(u.stale("kv", 1_000));
        u.sent("kv", batch(1), 10, 100);
        assertTrue(u.stale("kv", 1_000));
        assertFalse(u.stale("kv", 100));
        u.resend("kv", 2_000);
        assertFalse(u.stale("kv", 1_000));
        u.ack("kv", 1);
        assertFalse(u.stale("kv", 5_000));
    }
}
