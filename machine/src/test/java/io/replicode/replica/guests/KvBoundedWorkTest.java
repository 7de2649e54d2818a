package io.replicode.replica.guests;

import static io.replicode.replica.guests.KvGuest.OK;
import static io.replicode.replica.guests.KvGuest.integer;
import static io.replicode.replica.guests.KvGuest.resp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.replica.GuestConfig;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.guests.KvGuest.Conn;
import io.replicode.replica.guests.KvWire.Response;
import io.replicode.replica.module.Engine;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Fuel-exhaustion tests of the kv guest: every command and route that loops over a client-controlled size answers
 * (with a result or an error) within one frame's fuel at the shipped limit (fuelPerFrame 2*10^9, the default), and
 * the app keeps serving another client afterwards. On a guest without the bounds, {@link KvGuest} fails the test
 * with "the kv guest stopped: fuel exhausted". Fuel figures are printed (stdout), never asserted.
 */
class KvBoundedWorkTest {
    private static final Engine FAST = Engine.COMPILER;
    private static final int KEYS_LIMIT = 100_000;
    private static final int SCAN_LIMIT = 10_000;

    /** Runs the request to its reply, prints the fuel its frames used, returns the reply. */
    private static String measured(KvGuest g, Conn c, String what, String request) {
        long before = g.machine.host().fuelConsumed();
        String reply = c.call(request);
        long fuel = g.machine.host().fuelConsumed() - before;
        System.out.printf("fuel %,15d  %s%n", fuel, what);
        return reply;
    }

    /** Another client still gets answers. */
    private static void stillServes(KvGuest g) {
        assertEquals("+PONG\r\n", g.open("resp").call(resp("PING")));
    }

    /** Stores n keys "k:<i>" (value "v") with MSETs of 10,000 pairs. */
    private static void load(Conn c, int n) {
        for (int from = 0; from < n; from += 10_000) {
            List<String> args = new ArrayList<>(List.of("MSET"));
            for (int i = from; i < Math.min(n, from + 10_000); i++) {
                args.add("k:" + i);
                args.add("v");
            }
            assertEquals(OK, c.call(resp(args.toArray(String[]::new))));
        }
    }

    @Test
    void keys_with_a_backtracking_pattern_answers_and_the_app_keeps_serving() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            assertEquals(OK, c.call(resp("SET", "a".repeat(8000), "x")));
            // The row: a key of 8,000 'a's and "*aaaa...(4,000)...b".
            assertEquals("*0\r\n", measured(g, c, "KEYS *a{4000}b over a key of 8000 a", resp("KEYS", "*" + "a".repeat(4000) + "b")));
            // A literal segment between two stars is found by a linear search: answered at once.
            assertEquals("*0\r\n", measured(g, c, "KEYS *a{4000}b* over a key of 8000 a", resp("KEYS", "*" + "a".repeat(4000) + "b*")));
            assertEquals("*1\r\n$8000\r\n" + "a".repeat(8000) + "\r\n",
                    c.call(resp("KEYS", "*a" + "a".repeat(3000) + "*a*")));
            // A segment with wildcards is searched byte by byte (quadratic at worst): answered while the steps
            // stay under the bound...
            assertEquals("*0\r\n", measured(g, c, "KEYS *a{100}?b* over a key of 8000 a", resp("KEYS", "*" + "a".repeat(100) + "?b*")));
            assertEquals("*1\r\n$8000\r\n" + "a".repeat(8000) + "\r\n",
                    c.call(resp("KEYS", "*" + "a".repeat(1000) + "?*")));
            // ...and refused beyond it, instead of running the frame out of fuel.
            String err = measured(g, c, "KEYS *a{4000}?b* over a key of 8000 a", resp("KEYS", "*" + "a".repeat(4000) + "?b*"));
            assertEquals("-ERR pattern too costly: more than 1000000 match steps on one key. Fix: use fewer '*' "
                    + "between literal parts\r\n", err);
            assertEquals(OK, c.call(resp("SET", "a".repeat(16384), "x")));
            String scan = measured(g, c, "SCAN 0 MATCH *a{8000}?b* COUNT 100",
                    resp("SCAN", "0", "MATCH", "*" + "a".repeat(8000) + "?b*", "COUNT", "100"));
            assertTrue(scan.startsWith("-ERR pattern too costly"), scan);
            // Many stars, as Redis's exponential matcher fears: linear here.
            String stars = "*a".repeat(3000) + "*b";
            assertEquals("*0\r\n", measured(g, c, "KEYS (*a){3000}*b", resp("KEYS", stars)));
            stillServes(g);
        }
    }

    @Test
    void keys_star_over_a_million_keys_says_use_scan_and_every_keyspace_command_stays_bounded() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            int n = 1_000_000;
            load(c, n);
            assertEquals(integer(n), measured(g, c, "DBSIZE on 1M keys", resp("DBSIZE")));
            assertEquals("-ERR KEYS would examine 1000000 keys, more than " + KEYS_LIMIT + "; use SCAN\r\n",
                    measured(g, c, "KEYS * on 1M keys", resp("KEYS", "*")));
            assertEquals("-ERR KEYS would examine 1000000 keys, more than " + KEYS_LIMIT + "; use SCAN\r\n",
                    c.call(resp("KEYS", "nomatch")));

            // SCAN: a huge COUNT with nothing matching still stops after a bounded number of keys.
            List<?> r = (List<?>) KvWire.decode(measured(g, c, "SCAN 0 MATCH nomatch COUNT 10^9 on 1M keys",
                    resp("SCAN", "0", "MATCH", "nomatch", "COUNT", "1000000000")));
            assertNotEquals("0", r.get(0), "a bounded SCAN call returns a cursor to go on from");
            assertEquals(List.of(), r.get(1));
            List<?> all = (List<?>) KvWire.decode(measured(g, c, "SCAN 0 COUNT 10^9 on 1M keys",
                    resp("SCAN", "0", "COUNT", "1000000000")));
            int got = ((List<?>) all.get(1)).size();
            assertTrue(got >= SCAN_LIMIT && got < SCAN_LIMIT + 100, "one call returns about the cap: " + got);

            // The HTTP listing is sorted, so it would walk the whole keyspace: refused beyond its bound.
            Conn h = g.open("http");
            Response list = KvWire.response(measured(g, h, "HTTP GET / on 1M keys", "GET / HTTP/1.1\r\n\r\n"));
            assertEquals(503, list.status());
            assertEquals("503 Service Unavailable: listing refused: the store has 1000000 keys, more than the 200000 one "
                    + "listing may examine. Fix: use SCAN on the RESP listener\n", list.body());
            // MGET, EXISTS and DEL with the most arguments a request may carry.
            List<String> mget = new ArrayList<>(List.of("MGET"));
            List<String> exists = new ArrayList<>(List.of("EXISTS"));
            List<String> del = new ArrayList<>(List.of("DEL"));
            for (int i = 0; i < 65_535; i++) {
                mget.add("k:" + i);
                exists.add("k:" + i);
                del.add("k:" + i);
            }
            String mgetReply = measured(g, c, "MGET of 65535 keys", resp(mget.toArray(String[]::new)));
            assertTrue(mgetReply.startsWith("*65535\r\n$1\r\nv\r\n"), mgetReply.substring(0, 20));
            assertEquals(integer(65_535), measured(g, c, "EXISTS of 65535 keys", resp(exists.toArray(String[]::new))));
            assertEquals(integer(65_535), measured(g, c, "DEL of 65535 keys", resp(del.toArray(String[]::new))));
            assertEquals(OK, measured(g, c, "FLUSHALL of 934465 keys", resp("FLUSHALL")));
            assertEquals(integer(0), c.call(resp("DBSIZE")));
            stillServes(g);
            // The flushed entries are freed on the following timer frames, a bounded number per frame.
            int ticks = 0;
            while (usedMemory(c) > 0) {
                assertTrue(ticks++ < 20, "memory freed within 20 timer frames");
                long at = g.timers.get(g.timers.size() - 1);
                long before = g.machine.host().fuelConsumed();
                g.tickAt(Math.max(at, g.timeNs + 1));
                System.out.printf("fuel %,15d  %s%n", g.machine.host().fuelConsumed() - before, "a lazy-free tick");
            }
            assertTrue(ticks >= 1, "freeing went on in timer frames: " + ticks);
        }
    }

    @Test
    void keys_star_at_the_limit_answers_within_a_frame() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            load(c, KEYS_LIMIT);
            List<?> keys = (List<?>) KvWire.decode(measured(g, c, "KEYS * on 100000 keys", resp("KEYS", "*")));
            assertEquals(KEYS_LIMIT, keys.size());
            assertEquals(1, ((List<?>) KvWire.decode(measured(g, c, "KEYS k:99999 on 100000 keys",
                    resp("KEYS", "k:99999")))).size());
            assertEquals(OK, c.call(resp("SET", "one-more", "v")));
            assertTrue(c.call(resp("KEYS", "*")).startsWith("-ERR KEYS would examine 100001 keys"));
            stillServes(g);
        }
    }

    @Test
    void the_connection_cap_comes_from_replicode_max_connections() {
        // The host's descriptor table must hold them too (stdio and listeners included): 1,024 by default.
        GuestLimits d = GuestLimits.DEFAULT;
        GuestLimits fds = new GuestLimits(d.memoryPages(), d.fuelPerFrame(), d.callDepth(), d.fsQuotaBytes(),
                d.fsMaxInodes(), 2048, d.receiveBufferBytes(), d.sendWindowBytes(), d.listenBacklog(),
                d.asyncifyBufferBytes(), d.maxLogBytesPerFrame());
        GuestConfig config = GuestConfig.of("kv", KvGuest.LISTENERS).withLimits(fds)
                .withEnvironment(Map.of("REPLICODE_MAX_CONNECTIONS", "1024"));
        try (KvGuest g = KvGuest.start(FAST, config)) {
            List<Conn> open = new ArrayList<>();
            for (int i = 0; i < 1024; i++) {
                open.add(g.open("resp"));
                if (i % 100 == 99) {
                    g.settle(); // stay within the listen backlog (128)
                }
            }
            g.settle();
            assertEquals("+PONG\r\n", open.get(1023).call(resp("PING")), "the 1024th connection is served");
            assertEquals("*2\r\n$10\r\nmaxclients\r\n$4\r\n1024\r\n",
                    open.get(0).call(resp("CONFIG", "GET", "maxclients")));
            Conn extra = g.open("resp");
            g.settle();
            assertEquals("-ERR max number of clients reached\r\n", extra.take());
            assertTrue(extra.closed);
        }
    }

    @Test
    void an_unusable_replicode_max_connections_falls_back_to_the_default_or_the_ceiling() {
        for (String[] c : new String[][] {{"zero", "256"}, {"0", "256"}, {"100000", "4096"}}) {
            GuestConfig config = GuestConfig.of("kv", KvGuest.LISTENERS)
                    .withEnvironment(Map.of("REPLICODE_MAX_CONNECTIONS", c[0]));
            try (KvGuest g = KvGuest.start(FAST, config)) {
                assertEquals("*2\r\n$10\r\nmaxclients\r\n$" + c[1].length() + "\r\n" + c[1] + "\r\n",
                        g.open("resp").call(resp("CONFIG", "GET", "maxclients")), "REPLICODE_MAX_CONNECTIONS=" + c[0]);
            }
        }
    }

    private static long usedMemory(Conn c) {
        String info = (String) KvWire.decode(c.call(resp("INFO", "memory")));
        for (String line : info.split("\r\n")) {
            if (line.startsWith("used_memory:")) {
                return Long.parseLong(line.substring("used_memory:".length()));
            }
        }
        throw new AssertionError("no used_memory in " + info);
    }

    @Test
    void scan_iterates_a_keyspace_over_the_cap_in_bounded_calls() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            int n = 3 * SCAN_LIMIT;
            load(c, n);
            Set<String> seen = new HashSet<>();
            String cursor = "0";
            int calls = 0;
            do {
                List<?> reply = (List<?>) KvWire.decode(c.call(resp("SCAN", cursor, "COUNT", "1000000000")));
                cursor = (String) reply.get(0);
                for (Object k : (List<?>) reply.get(1)) {
                    seen.add((String) k);
                }
                calls++;
            } while (!cursor.equals("0"));
            assertEquals(n, seen.size(), "every key once the cursor comes back to 0");
            assertTrue(calls >= 3, "the cap splits the scan: " + calls + " calls");
            stillServes(g);
        }
    }

    @Test
    void long_values_and_long_lines_cost_a_bounded_amount() {
        try (KvGuest g = KvGuest.startWith1MiBValues(FAST)) {
            Conn c = g.open("resp");
            String mb = "x".repeat(1024 * 1024);
            assertEquals(OK, measured(g, c, "SET of a 1 MiB value", resp("SET", "big", mb)));
            assertEquals(KvGuest.bulk(mb), measured(g, c, "GET of a 1 MiB value", resp("GET", "big")));
            // APPEND up to the value limit, then refused.
            assertEquals(OK, c.call(resp("SET", "grow", "")));
            String chunk = "y".repeat(64 * 1024);
            for (int i = 1; i <= 16; i++) {
                assertEquals(integer(i * 64L * 1024), c.call(resp("APPEND", "grow", chunk)));
            }
            assertTrue(c.call(resp("APPEND", "grow", "z")).startsWith("-ERR"));
            // The line protocol: a line of the longest allowed length, arriving a few bytes at a time.
            Conn l = g.open("line");
            String line = "SET lk " + "z".repeat(1024 * 1024) + "\n";
            long before = g.machine.host().fuelConsumed();
            for (int at = 0; at < line.length(); at += 4096) {
                l.send(line.substring(at, Math.min(line.length(), at + 4096)));
            }
            assertEquals("OK\n", l.take());
            System.out.printf("fuel %,15d  %s%n", g.machine.host().fuelConsumed() - before,
                    "line SET of 1 MiB in 4 KiB pieces");
            stillServes(g);
        }
    }
}
