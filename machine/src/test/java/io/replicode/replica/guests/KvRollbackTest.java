package io.replicode.replica.guests;

import static io.replicode.replica.guests.KvGuest.OK;
import static io.replicode.replica.guests.KvGuest.bulk;
import static io.replicode.replica.guests.KvGuest.integer;
import static io.replicode.replica.guests.KvGuest.resp;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Output;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.machine.GuestMachine;
import io.replicode.replica.module.Engine;
import org.junit.jupiter.api.Test;

/**
 * A kv request that runs a frame out of fuel is rolled back: its client is reset, its work is undone, and the
 * other clients' sessions and every stored key are untouched, on every replica alike.
 */
class KvRollbackTest {
    /** Enough for any ordinary command, far too little for KEYS over the keyspace below. */
    private static final long FUEL = 20_000_000L;
    private static final int KEYS = 20_000;

    private static KvGuest kv() {
        return KvGuest.start(Engine.COMPILER, GuestConfig.of("kv", KvGuest.LISTENERS)
                .withLimits(GuestLimits.DEFAULT.withFuelPerFrame(FUEL)));
    }

    private static void load(KvGuest.Conn c) {
        for (int from = 0; from < KEYS; from += 500) {
            StringBuilder mset = new StringBuilder();
            for (int i = from; i < from + 500; i++) {
                mset.append(resp("SET", "k" + i, "v" + i));
            }
            assertEquals(OK.repeat(500), c.call(mset.toString()));
        }
    }

    @Test
    void a_request_that_exhausts_the_fuel_is_cut_and_every_other_session_and_key_stays() {
        try (KvGuest a = kv(); KvGuest b = kv()) {
            for (KvGuest g : new KvGuest[] {a, b}) {
                load(g.open("resp"));
            }
            KvGuest.Conn keeperA = a.open("resp");
            KvGuest.Conn keeperB = b.open("resp");
            assertEquals(OK, keeperA.call(resp("SET", "mine", "1")));
            assertEquals(OK, keeperB.call(resp("SET", "mine", "1")));
            KvGuest.Conn attackerA = a.open("resp");
            KvGuest.Conn attackerB = b.open("resp");
            // In one frame: the poisonous request, and another client's write and read.
            attackerA.send(resp("SET", "poison", "x") + resp("KEYS", "*"));
            attackerB.send(resp("SET", "poison", "x") + resp("KEYS", "*"));
            keeperA.send(resp("INCR", "mine") + resp("GET", "k7"));
            keeperB.send(resp("INCR", "mine") + resp("GET", "k7"));
            a.step();
            b.step();
            assertEquals(integer(2) + bulk("v7"), keeperA.take(), "the other client is answered in the same frame");
            assertEquals(integer(2) + bulk("v7"), keeperB.take());
            assertTrue(attackerA.reset, "the client whose request exhausted the fuel is reset");
            assertEquals("", attackerA.take(), "and got nothing: even its SET before KEYS was rolled back");
            GuestMachine m = a.machine;
            assertEquals(GuestMachine.State.PARKED, m.state());
            assertEquals(1, m.status().rollbacks());
            assertTrue(m.status().lastFault().startsWith("fuel exhausted: more than 20000000 instructions"), m.status().lastFault());
            assertFalse(a.outputs.stream().anyMatch(o -> o instanceof Output.Stopped));

            KvGuest.Conn later = a.open("resp");
            assertEquals(integer(KEYS + 1) + bulk("2") + KvGuest.NIL,
                    later.call(resp("DBSIZE") + resp("GET", "mine") + resp("GET", "poison")));
            assertEquals(bulk("2"), keeperA.call(resp("GET", "mine")), "the keeper's session goes on");
            KvGuest.Conn laterB = b.open("resp");
            laterB.call(resp("DBSIZE") + resp("GET", "mine") + resp("GET", "poison"));
            keeperB.call(resp("GET", "mine"));
            assertArrayEquals(a.machine.digest(), b.machine.digest(), "both replicas reach the same state");
        }
    }
}
