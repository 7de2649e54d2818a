package io.replicode.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class EventCodecTest {
    private static final List<IngressEvent> EVENTS = List.of(new IngressEvent.Open(1, "resp"),
            new IngressEvent.Data(1, new byte[] {0, 1, (byte) 255}), new IngressEvent.HalfClose(1),
            new IngressEvent.Reset(2), new IngressEvent.Window(3, 4096), new IngressEvent.GatewayLost(-1),
            new IngressEvent.GatewayLost(5), new IngressEvent.SnapshotRequest(), new IngressEvent.Batch(3, 17),
            new IngressEvent.Batch(0, 0), new IngressEvent.Batch(ConnectionIds.MAX_GATEWAY, Long.MAX_VALUE),
            new IngressEvent.Restart(), new IngressEvent.Upgrade("ab".repeat(32), 5));
    private static final List<Output> OUTPUTS = List.of(new Output.Send(1, 10, new byte[] {42}), new Output.Close(1, 11),
            new Output.Reset(2), new Output.Window(3, 5), new Output.TimerRequest(99), new Output.Log(2, "x".getBytes()),
            new Output.Stopped("trap: unreachable (frame 4)"), new Output.Recovered("restarted at frame 9"),
            new Output.Upgraded("cd".repeat(32), "the old guest exited within its grace; 2 connection(s) reset"));

    @Test
    void events_and_outputs_round_trip() {
        assertEquals(EVENTS, EventCodec.decodeEvents(EventCodec.encodeEvents(EVENTS)));
        assertEquals(OUTPUTS, EventCodec.decodeOutputs(EventCodec.encodeOutputs(OUTPUTS)));
    }

    @Test
    void batches_round_trip_and_connection_ids_name_their_gateway() {
        IngressBatch in = new IngressBatch(7, 3, EVENTS);
        assertEquals(in, IngressBatch.decode(in.encode()));
        OutputBatch out = new OutputBatch("kv", 2, 41, OUTPUTS);
        assertEquals(out, OutputBatch.decode(out.encode()));
        long conn = ConnectionIds.of(7, 12345);
        assertEquals(7, ConnectionIds.gateway(conn));
        assertEquals(12345, ConnectionIds.counter(conn));
        assertEquals("7:12345", ConnectionIds.format(conn));
    }

    @Test
    void absurd_count_is_refused_before_allocating() {
        byte[] b = ByteBuffer.allocate(4).putInt(Integer.MAX_VALUE).array();
        CodecException e = assertThrows(CodecException.class, () -> EventCodec.decodeEvents(b));
        assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
    }

    @Test
    void unknown_type_names_its_offset() {
        byte[] b = EventCodec.encodeEvents(EVENTS);
        b[4] = 99;
        CodecException e = assertThrows(CodecException.class, () -> EventCodec.decodeEvents(b));
        assertEquals(4, e.offset());
    }

    @Test
    void batch_mark_is_type_8_with_the_gateway_in_the_connection_field() {
        byte[] b = EventCodec.encodeEvents(List.of(new IngressEvent.Batch(3, 17)));
        assertEquals(4 + 1 + 8 + 8, b.length);
        assertEquals(EventCodec.size(new IngressEvent.Batch(3, 17)), b.length - 4);
        ByteBuffer in = ByteBuffer.wrap(b, 4, b.length - 4);
        assertEquals(8, in.get());
        assertEquals(3, in.getLong());
        assertEquals(17, in.getLong());
    }

    @Test
    void batch_mark_with_a_negative_seq_or_a_gateway_out_of_range_names_its_offset() {
        byte[] negativeSeq = EventCodec.encodeEvents(List.of(new IngressEvent.Open(1, "resp"), new IngressEvent.Batch(3, 17)));
        int at = 4 + EventCodec.size(new IngressEvent.Open(1, "resp"));
        ByteBuffer.wrap(negativeSeq).putLong(at + 9, -1);
        CodecException e = assertThrows(CodecException.class, () -> EventCodec.decodeEvents(negativeSeq));
        assertEquals(at, e.offset());
        assertTrue(e.getMessage().contains("batchSeq -1 is negative"), e.getMessage());
        for (long gateway : new long[] {-1, ConnectionIds.MAX_GATEWAY + 1L}) {
            byte[] badGateway = EventCodec.encodeEvents(List.of(new IngressEvent.Batch(3, 17)));
            ByteBuffer.wrap(badGateway).putLong(4 + 1, gateway);
            e = assertThrows(CodecException.class, () -> EventCodec.decodeEvents(badGateway));
            assertEquals(4, e.offset());
            assertTrue(e.getMessage().contains("gateway id " + gateway + " out of range"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new IngressEvent.Batch(-1, 1));
        assertThrows(IllegalArgumentException.class, () -> new IngressEvent.Batch(1, -1));
    }

    @Test
    void random_bytes_only_ever_give_codec_errors() {
        Random r = new Random(1);
        byte[] good = EventCodec.encodeEvents(EVENTS);
        for (int i = 0; i < 20_000; i++) {
            byte[] bad = good.clone();
            if (r.nextBoolean()) {
                bad = java.util.Arrays.copyOf(bad, r.nextInt(bad.length));
            } else {
                bad[r.nextInt(bad.length)] = (byte) r.nextInt(256);
            }
            try {
                EventCodec.decodeEvents(bad);
            } catch (CodecException expected) {
                // the only failure allowed
            }
        }
    }
}
