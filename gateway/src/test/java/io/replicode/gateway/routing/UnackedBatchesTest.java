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
    void batches_waiting_for_a_sequencer_go_to_it_before_the_next_one() {
        UnackedBatches u = new UnackedBatches();
        assertEquals(List.of(), u.publish("kv", batch(1), 10, 100, null), "no sequencer known: it waits");
        assertEquals(List.of(), u.publish("kv", batch(2), 10, 110, null));
        assertEquals(List.of(batch(1), batch(2), batch(3)), u.publish("kv", batch(3), 10, 120, "seq@a"),
                "the first batch for a sequencer brings the waiting ones, in order, ahead of it");
        assertEquals(List.of(batch(4)), u.publish("kv", batch(4), 10, 130, "seq@a"), "then one at a time");
        u.ack("kv", 2);
        assertEquals(List.of(batch(3), batch(4), batch(5)), u.publish("kv", batch(5), 10, 140, "seq@b"),
                "a new leader gets what the old one did not acknowledge first");
        assertEquals(List.of(batch(6)), u.publish("kv", batch(6), 10, 150, "seq@b"));
    }

    @Test
    void the_periodic_check_resends_on_a_new_sequencer_or_a_stale_batch_only() {
        UnackedBatches u = new UnackedBatches();
        u.publish("kv", batch(1), 10, 100, "seq@a");
        assertEquals(List.of(), u.due("kv", "seq@a", 150, 50), "sent to this sequencer at 100, not stale");
        assertEquals(List.of(), u.due("kv", null, 150, 50), "no sequencer: nothing to send");
        assertEquals(List.of(batch(1)), u.due("kv", "seq@b", 150, 50), "another sequencer");
        assertEquals(List.of(batch(2)), u.publish("kv", batch(2), 10, 160, "seq@b"), "which is now the one sent to");
        assertEquals(List.of(batch(1), batch(2)), u.due("kv", "seq@b", 400, 200), "the oldest was sent at 150");
        u.ack("kv", 2);
        assertEquals(List.of(), u.due("kv", "seq@b", 900, 800));
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
