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

    @Test
    void bytes_that_directly_follow_a_connections_bytes_join_them_up_to_the_limit() {
        IngressBatcher batcher = new IngressBatcher(4, 1 << 20);
        batcher.add("kv", new IngressEvent.Open(1, "http"));
        batcher.add("kv", new IngressEvent.Data(1, "head ".getBytes()));
        batcher.add("kv", new IngressEvent.Data(1, "body".getBytes()));
        batcher.add("kv", new IngressEvent.Data(2, "other".getBytes()));
        batcher.add("kv", new IngressEvent.Data(1, "later".getBytes()));
        batcher.add("kv", new IngressEvent.HalfClose(1));
        assertEquals(List.of(new IngressEvent.Open(1, "http"), new IngressEvent.Data(1, "head body".getBytes()),
                new IngressEvent.Data(2, "other".getBytes()), new IngressEvent.Data(1, "later".getBytes()),
                new IngressEvent.HalfClose(1)), batcher.take("kv").events(), "only bytes right after the same connection's");
        batcher.add("kv", new IngressEvent.Data(1, new byte[IngressBatcher.JOIN_DATA_BYTES - 1]));
        batcher.add("kv", new IngressEvent.Data(1, new byte[1]));
        batcher.add("kv", new IngressEvent.Data(1, new byte[1]));
        List<IngressEvent> events = batcher.take("kv").events();
        assertEquals(2, events.size(), "joined up to the limit, then a new event");
        assertEquals(IngressBatcher.JOIN_DATA_BYTES, ((IngressEvent.Data) events.get(0)).bytes().length);
        batcher.add("kv", new IngressEvent.Data(1, "x".getBytes()));
        assertEquals(List.of(new IngressEvent.Data(1, "x".getBytes())), batcher.take("kv").events(), "not across batches");
    }
}
