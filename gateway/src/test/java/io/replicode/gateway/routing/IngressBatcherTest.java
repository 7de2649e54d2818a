package io.replicode.gateway.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.IngressBatch;
import io.replicode.nat.IngressEvent;
import java.util.List;
import org.junit.jupiter.api.Test;

class IngressBatcherTest {
    private final IngressBatcher batcher = new IngressBatcher(4, 1024);

    @Test
    void batches_are_numbered_from_one_per_app() {
        assertTrue(batcher.add("kv", new IngressEvent.Open(1, "resp")), "the first event starts a batch");
        assertFalse(batcher.add("kv", new IngressEvent.Data(1, new byte[] {1})));
        batcher.add("image", new IngressEvent.Open(2, "http"));
        assertEquals(List.of("kv", "image"), batcher.pendingApps());

        IngressBatch kv = batcher.take("kv");
        assertEquals(new IngressBatch(4, 1, List.of(new IngressEvent.Open(1, "resp"), new IngressEvent.Data(1, new byte[] {1}))), kv);
        assertEquals(1, batcher.take("image").batchSeq());
        assertNull(batcher.take("kv"), "nothing waits");

        assertTrue(batcher.add("kv", new IngressEvent.HalfClose(1)));
        assertEquals(2, batcher.take("kv").batchSeq());
        assertEquals(2, batcher.lastBatchSeq("kv"));
        assertEquals(4, batcher.eventsTaken());
    }

    @Test
    void window_grants_of_one_connection_merge_within_a_batch() {
        batcher.add("kv", new IngressEvent.Window(1, 100));
        batcher.add("kv", new IngressEvent.Data(1, new byte[] {1}));
        batcher.add("kv", new IngressEvent.Window(2, 5));
        batcher.add("kv", new IngressEvent.Window(1, 50));
        assertEquals(List.of(new IngressEvent.Window(1, 150), new IngressEvent.Data(1, new byte[] {1}),
                new IngressEvent.Window(2, 5)), batcher.take("kv").events());
        batcher.add("kv", new IngressEvent.Window(1, 7));
        assertEquals(List.of(new IngressEvent.Window(1, 7)), batcher.take("kv").events(), "not merged across batches");
    }

    @Test
    void full_at_the_byte_limit() {
        batcher.add("kv", new IngressEvent.Data(1, new byte[900]));
        assertFalse(batcher.full("kv"));
        batcher.add("kv", new IngressEvent.Data(1, new byte[200]));
        assertTrue(batcher.full("kv"));
        assertFalse(batcher.full("image"));
    }
}
