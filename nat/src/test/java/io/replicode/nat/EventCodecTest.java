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
            new IngressEvent.GatewayLost(5), new IngressEvent.SnapshotRequest());
    private static final List<Output> OUTPUTS = List.of(new Output.Send(1, 10, new byte[] {42}), new Output.Close(1, 11),
            new Output.Reset(2), new Output.Window(3, 5), new Output.TimerRequest(99), new Output.Log(2, "x".getBytes()),
            new Output.Stopped("trap: unreachable (frame 4)"));

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
