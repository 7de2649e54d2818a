package io.replicode.nat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class NatTableTest {
    @Test
    void ids_carry_the_gateway_and_never_repeat() {
        NatTable<String> nat = new NatTable<>(7);
        long a = nat.open("kv", "resp", NatTable.Kind.TCP, "127.0.0.1:5000", 1, id -> "a").connection();
        nat.remove(a);
        long b = nat.open("kv", "resp", NatTable.Kind.TCP, "127.0.0.1:5001", 2, id -> "b").connection();
        assertEquals(7, ConnectionIds.gateway(a));
        assertEquals(7, ConnectionIds.gateway(b));
        assertEquals(1, ConnectionIds.counter(a));
        assertEquals(2, ConnectionIds.counter(b));
    }

    @Test
    void counting_starts_where_told() {
        NatTable<String> nat = new NatTable<>(7, 1_000_000);
        assertEquals(1_000_000, ConnectionIds.counter(nat.open("kv", "resp", NatTable.Kind.TCP, "c", 0, id -> "").connection()));
        assertThrows(IllegalArgumentException.class, () -> new NatTable<String>(7, 0));
    }

    @Test
    void peer_is_built_with_its_connection_id() {
        NatTable<Long> nat = new NatTable<>(1);
        NatTable.Mapping<Long> m = nat.open("kv", "http", NatTable.Kind.HTTP, "c", 0, id -> id);
        assertEquals(m.connection(), (long) m.peer());
        assertSame(m, nat.get(m.connection()));
    }

    @Test
    void counts_follow_opens_and_removes_per_app_and_kind() {
        NatTable<String> nat = new NatTable<>(1);
        long k1 = nat.open("kv", "resp", NatTable.Kind.TCP, "x", 0, id -> "").connection();
        nat.open("kv", "http", NatTable.Kind.HTTP, "y", 0, id -> "");
        nat.open("image", "http", NatTable.Kind.EVENT_BUS, "z", 0, id -> "");
        assertEquals(3, nat.size());
        assertEquals(2, nat.count("kv"));
        assertEquals(1, nat.count("image"));
        assertEquals(0, nat.count("none"));
        assertEquals(1, nat.count(NatTable.Kind.TCP));

        assertEquals("kv", nat.remove(k1).app());
        assertNull(nat.remove(k1), "a second remove finds nothing");
        assertEquals(1, nat.count("kv"));
        assertEquals(0, nat.count(NatTable.Kind.TCP));
        assertEquals(2, nat.size());
        assertEquals(3, nat.opened());
    }

    @Test
    void listing_is_bounded_and_oldest_first() {
        NatTable<String> nat = new NatTable<>(1);
        for (int i = 0; i < 10; i++) {
            nat.open(i % 2 == 0 ? "kv" : "image", "l", NatTable.Kind.TCP, "client" + i, i, id -> "");
        }
        List<NatTable.Mapping<String>> first = nat.list(3);
        assertEquals(List.of("client0", "client1", "client2"), first.stream().map(NatTable.Mapping::external).toList());
        assertEquals(10, nat.list(100).size());
        assertEquals(5, nat.of("kv").size());
        assertEquals("client1", nat.of("image").get(0).external());
    }

    @Test
    void gateway_id_out_of_range_rejected() {
        assertThrows(IllegalArgumentException.class, () -> new NatTable<String>(ConnectionIds.MAX_GATEWAY + 1));
        assertThrows(IllegalArgumentException.class, () -> new NatTable<String>(-1));
    }
}
