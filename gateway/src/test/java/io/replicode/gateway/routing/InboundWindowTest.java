package io.replicode.gateway.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.IngressEvent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class InboundWindowTest {
    private final List<String> events = new ArrayList<>();
    private final InboundWindow window = new InboundWindow(9, 10, e -> events.add(describe(e)));

    private static String describe(IngressEvent e) {
        if (e instanceof IngressEvent.Data d) {
            return "data " + d.bytes().length;
        }
        return e.getClass().getSimpleName();
    }

    @Test
    void never_more_than_the_receive_buffer_in_flight() {
        window.data(new byte[6]);
        window.data(new byte[7]);
        assertEquals(List.of("data 6", "data 4"), events);
        assertEquals(10, window.inFlightBytes());
        assertEquals(3, window.heldBytes());
        assertFalse(window.accepting(), "the caller stops reading while bytes are held");

        assertTrue(window.consumed(2));
        assertEquals(List.of("data 6", "data 4", "data 2"), events);
        assertEquals(1, window.heldBytes());
        assertTrue(window.consumed(10));
        assertEquals("data 1", events.get(3));
        assertTrue(window.accepting());
        assertEquals(1, window.inFlightBytes());
    }

    @Test
    void end_of_input_waits_for_the_bytes_before_it() {
        window.data(new byte[12]);
        window.end();
        assertEquals(List.of("data 10"), events);
        assertFalse(window.endDelivered());
        window.consumed(10);
        assertEquals(List.of("data 10", "data 2", "HalfClose"), events);
        assertTrue(window.endDelivered());
    }

    @Test
    void consuming_more_than_was_sent_is_refused() {
        window.data(new byte[4]);
        assertFalse(window.consumed(5));
        assertEquals(4, window.inFlightBytes(), "nothing changed");
        assertTrue(window.consumed(4));
        assertFalse(window.consumed(1));
    }

    @Test
    void discard_drops_held_bytes() {
        window.data(new byte[15]);
        window.discard();
        assertEquals(0, window.heldBytes());
        assertTrue(window.accepting());
        window.consumed(10);
        assertEquals(List.of("data 10"), events);
    }
}
