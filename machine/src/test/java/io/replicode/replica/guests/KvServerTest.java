package io.replicode.replica.guests;

import static io.replicode.replica.guests.KvGuest.NIL;
import static io.replicode.replica.guests.KvGuest.OK;
import static io.replicode.replica.guests.KvGuest.T0;
import static io.replicode.replica.guests.KvGuest.array;
import static io.replicode.replica.guests.KvGuest.bulk;
import static io.replicode.replica.guests.KvGuest.integer;
import static io.replicode.replica.guests.KvGuest.resp;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.guests.KvGuest.Conn;
import io.replicode.replica.guests.KvWire.Response;
import io.replicode.replica.machine.GuestMachine;
import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The kv server guest ({@code wasm-programs/src/kv_server.c}) through a {@link io.replicode.replica.machine.GuestMachine}:
 * RESP2, HTTP/1.1 and the original line protocol, byte for byte, over one store. Tests not marked with an engine run
 * on the compiler; the core ones run on both.
 */
class KvServerTest {
    private static final Engine FAST = Engine.COMPILER;
    private static final String SYNTAX = "-ERR syntax error\r\n";
    private static final String NOT_INT = "-ERR value is not an integer or out of range\r\n";
    private static final int MAX_VALUE = 1024 * 1024;
    private static final int MAX_KEY = 16384;

    private static String arity(String name) {
        return "-ERR wrong number of arguments for '" + name + "' command\r\n";
    }

    /** Runs request/reply pairs one by one on one RESP connection. */
    private static void transcript(Conn c, String[][] pairs) {
        for (String[] p : pairs) {
            assertEquals(p[1], c.call(p[0]), "reply to " + p[0].replace("\r\n", " "));
        }
    }

    // ---- RESP: every command, exact bytes -------------------------------------------------------------------------

    private static final String[][] CORE = {
        {resp("PING"), "+PONG\r\n"},
        {resp("SET", "k", "v"), OK},
        {resp("GET", "k"), bulk("v")},
        {resp("get", "k"), bulk("v")},
        {resp("GET", "nope"), NIL},
        {resp("GET"), arity("get")},
        {resp("SET", "c", "41"), OK},
        {resp("INCR", "c"), integer(42)},
        {resp("INCR", "k"), NOT_INT},
        {resp("EXPIRE", "c", "100"), integer(1)},
        {resp("TTL", "c"), integer(100)},
        {resp("DEL", "k", "c", "nope"), integer(2)},
        {resp("FOO", "a", "b"), "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"},
        {"PING\r\n", "+PONG\r\n"},
    };

    @ParameterizedTest
    @EnumSource(Engine.class)
    void core_commands_on_both_engines(Engine engine) {
        try (KvGuest g = KvGuest.start(engine)) {
            transcript(g.open("resp"), CORE);
            Conn h = g.open("http");
            Response put = KvWire.response(h.call("PUT /hello HTTP/1.1\r\nContent-Length: 5\r\n\r\nworld"));
            assertEquals(201, put.status());
            assertEquals("VALUE world\n", g.open("line").call("GET hello\n"));
        }
    }

    private static final String[][] STRINGS = {
        {resp("PING", "hello"), bulk("hello")},
        {resp("PING", "a", "b"), arity("ping")},
        {resp("ECHO", "a b"), bulk("a b")},
        {resp("ECHO"), arity("echo")},
        {resp("SET", "k", "v"), OK},
        {resp("GET", "k", "x"), arity("get")},
        {resp("SET", "k"), arity("set")},
        {resp("SET", "k", "v2", "NX"), NIL},
        {resp("SET", "k", "v2", "XX"), OK},
        {resp("SET", "x", "v", "XX"), NIL},
        {resp("EXISTS", "x"), integer(0)},
        {resp("SET", "k", "v3", "GET"), bulk("v2")},
        {resp("SET", "g", "v", "GET"), NIL},
        {resp("GET", "g"), bulk("v")},
        {resp("SET", "g", "w", "NX", "GET"), bulk("v")},
        {resp("GET", "g"), bulk("v")},
        {resp("SET", "k", "v", "NX", "XX"), SYNTAX},
        {resp("SET", "k", "v", "EX", "ten"), NOT_INT},
        {resp("SET", "k", "v", "EX", "0"), "-ERR invalid expire time in 'set' command\r\n"},
        {resp("SET", "k", "v", "PX", "-5"), "-ERR invalid expire time in 'set' command\r\n"},
        {resp("SET", "k", "v", "EX", "10", "PX", "100"), SYNTAX},
        {resp("SET", "k", "v", "EX"), SYNTAX},
        {resp("SET", "k", "v", "BOGUS"), SYNTAX},
        {resp("SET", "t", "v", "EX", "100"), OK},
        {resp("TTL", "t"), integer(100)},
        {resp("PTTL", "t"), integer(100_000)},
        {resp("SET", "t", "w", "KEEPTTL"), OK},
        {resp("TTL", "t"), integer(100)},
        {resp("SET", "t", "v", "px", "1500"), OK},
        {resp("PTTL", "t"), integer(1500)},
        {resp("TTL", "t"), integer(2)},
        {resp("SET", "t", "v", "EXAT", "1700000100"), OK},
        {resp("TTL", "t"), integer(100)},
        {resp("SET", "t", "v", "PXAT", "1700000000500"), OK},
        {resp("PTTL", "t"), integer(500)},
        {resp("SET", "t", "v"), OK},
        {resp("TTL", "t"), integer(-1)},
        {resp("SETEX", "s", "10", "v"), OK},
        {resp("TTL", "s"), integer(10)},
        {resp("SETEX", "s", "0", "v"), "-ERR invalid expire time in 'setex' command\r\n"},
        {resp("PSETEX", "s", "2500", "v"), OK},
        {resp("PTTL", "s"), integer(2500)},
        {resp("SETNX", "s", "x"), integer(0)},
        {resp("SETNX", "n", "x"), integer(1)},
        {resp("GETSET", "n", "y"), bulk("x")},
        {resp("GETSET", "n2", "y"), NIL},
        {resp("GET", "n2"), bulk("y")},
        {resp("GETDEL", "n"), bulk("y")},
        {resp("GETDEL", "n"), NIL},
        {resp("SET", "c", "41"), OK},
        {resp("INCR", "c"), integer(42)},
        {resp("INCRBY", "c", "8"), integer(50)},
        {resp("DECR", "c"), integer(49)},
        {resp("DECRBY", "c", "9"), integer(40)},
        {resp("INCRBY", "c", "-50"), integer(-10)},
        {resp("GET", "c"), bulk("-10")},
        {resp("INCR", "fresh"), integer(1)},
        {resp("DECR", "fresh2"), integer(-1)},
        {resp("INCR", "k"), NOT_INT},
        {resp("INCRBY", "c", "x"), NOT_INT},
        {resp("INCRBY", "c", "1.5"), NOT_INT},
        {resp("INCRBY", "c", "+1"), NOT_INT},
        {resp("SET", "sp", " 1"), OK},
        {resp("INCR", "sp"), NOT_INT},
        {resp("SET", "z", "007"), OK},
        {resp("INCR", "z"), NOT_INT},
        {resp("SET", "max", "9223372036854775807"), OK},
        {resp("INCR", "max"), "-ERR increment or decrement would overflow\r\n"},
        {resp("SET", "min", "-9223372036854775808"), OK},
        {resp("DECR", "min"), "-ERR increment or decrement would overflow\r\n"},
        {resp("DECRBY", "c", "-9223372036854775808"), "-ERR decrement would overflow\r\n"},
        {resp("SET", "ct", "5"), OK},
        {resp("EXPIRE", "ct", "100"), integer(1)},
        {resp("INCR", "ct"), integer(6)},
        {resp("TTL", "ct"), integer(100)},
        {resp("APPEND", "a", "hello"), integer(5)},
        {resp("APPEND", "a", " world"), integer(11)},
        {resp("GET", "a"), bulk("hello world")},
        {resp("STRLEN", "a"), integer(11)},
        {resp("STRLEN", "nope"), integer(0)},
        {resp("MSET", "m1", "a", "m2", "b"), OK},
        {resp("MGET", "m1", "nope", "m2"), "*3\r\n$1\r\na\r\n$-1\r\n$1\r\nb\r\n"},
        {resp("MSET", "m1"), arity("mset")},
        {resp("MSET", "m1", "a", "m2"), arity("mset")},
        {resp("MGET"), arity("mget")},
        {resp("SET", "bin", "a\r\nb\0c"), OK},
        {resp("GET", "bin"), bulk("a\r\nb\0c")},
    };

    @ParameterizedTest
    @EnumSource(Engine.class)
    void string_commands_reply_like_redis(Engine engine) {
        try (KvGuest g = KvGuest.start(engine)) {
            transcript(g.open("resp"), STRINGS);
        }
    }

    private static final String[][] KEYSPACE = {
        {resp("SET", "k", "v"), OK},
        {resp("SET", "k2", "v"), OK},
        {resp("DEL", "k", "k2", "nope"), integer(2)},
        {resp("DEL", "k"), integer(0)},
        {resp("DEL"), arity("del")},
        {resp("UNLINK", "nope"), integer(0)},
        {resp("SET", "k", "v"), OK},
        {resp("EXISTS", "k", "k", "nope"), integer(2)},
        {resp("TYPE", "k"), "+string\r\n"},
        {resp("TYPE", "nope"), "+none\r\n"},
        {resp("TTL", "nope"), integer(-2)},
        {resp("PTTL", "nope"), integer(-2)},
        {resp("TTL", "k"), integer(-1)},
        {resp("EXPIRE", "k", "100"), integer(1)},
        {resp("TTL", "k"), integer(100)},
        {resp("PERSIST", "k"), integer(1)},
        {resp("PERSIST", "k"), integer(0)},
        {resp("TTL", "k"), integer(-1)},
        {resp("PERSIST", "nope"), integer(0)},
        {resp("EXPIRE", "k", "100", "XX"), integer(0)},
        {resp("EXPIRE", "k", "100", "NX"), integer(1)},
        {resp("EXPIRE", "k", "100", "NX"), integer(0)},
        {resp("EXPIRE", "k", "50", "GT"), integer(0)},
        {resp("EXPIRE", "k", "200", "GT"), integer(1)},
        {resp("EXPIRE", "k", "300", "LT"), integer(0)},
        {resp("EXPIRE", "k", "10", "lt"), integer(1)},
        {resp("TTL", "k"), integer(10)},
        {resp("EXPIRE", "k", "10", "NX", "XX"),
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"},
        {resp("EXPIRE", "k", "10", "GT", "LT"), "-ERR GT and LT options at the same time are not compatible\r\n"},
        {resp("EXPIRE", "k", "10", "FOO"), "-ERR Unsupported option FOO\r\n"},
        {resp("EXPIRE", "k", "ten"), NOT_INT},
        {resp("EXPIRE", "k"), arity("expire")},
        {resp("EXPIRE", "k", "9223372036854775807"), "-ERR invalid expire time in 'expire' command\r\n"},
        {resp("PEXPIRE", "k", "1500"), integer(1)},
        {resp("PTTL", "k"), integer(1500)},
        {resp("TTL", "k"), integer(2)},
        {resp("EXPIREAT", "k", "1700000050"), integer(1)},
        {resp("TTL", "k"), integer(50)},
        {resp("PEXPIREAT", "k", "1700000000250"), integer(1)},
        {resp("PTTL", "k"), integer(250)},
        {resp("EXPIRE", "nope", "10"), integer(0)},
        {resp("EXPIRE", "k", "-1"), integer(1)},
        {resp("EXISTS", "k"), integer(0)},
        {resp("SELECT", "0"), OK},
        {resp("SELECT", "1"), "-ERR DB index is out of range\r\n"},
        {resp("SELECT", "x"), NOT_INT},
        {resp("SET", "a", "1"), OK},
        {resp("DBSIZE"), integer(1)},
        {resp("FLUSHDB", "BOGUS"), SYNTAX},
        {resp("FLUSHDB"), OK},
        {resp("DBSIZE"), integer(0)},
        {resp("SET", "a", "1"), OK},
        {resp("FLUSHALL", "ASYNC"), OK},
        {resp("DBSIZE"), integer(0)},
        {resp("KEYS", "*"), "*0\r\n"},
        {resp("KEYS"), arity("keys")},
        {resp("SCAN", "0"), "*2\r\n$1\r\n0\r\n*0\r\n"},
        {resp("SCAN", "abc"), "-ERR invalid cursor\r\n"},
        {resp("SCAN", "0", "COUNT", "0"), SYNTAX},
        {resp("SCAN", "0", "COUNT", "x"), NOT_INT},
        {resp("SCAN", "0", "COUNT"), SYNTAX},
        {resp("SCAN", "0", "BOGUS", "1"), SYNTAX},
    };

    @ParameterizedTest
    @EnumSource(Engine.class)
    void keyspace_commands_reply_like_redis(Engine engine) {
        try (KvGuest g = KvGuest.start(engine)) {
            transcript(g.open("resp"), KEYSPACE);
        }
    }

    private static final String[][] SERVER = {
        {resp("CONFIG", "GET", "save"), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"},
        {resp("CONFIG", "GET", "appendonly"), "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"},
        {resp("config", "get", "nothing*"), "*0\r\n"},
        {resp("CONFIG", "GET", "zset-max-ziplist-entries"), "*2\r\n$24\r\nzset-max-ziplist-entries\r\n$3\r\n128\r\n"},
        {resp("CONFIG", "SET", "zset-max-ziplist-entries", "0"), OK},
        {resp("CONFIG", "GET", "zset-max-listpack-entries"), "*2\r\n$25\r\nzset-max-listpack-entries\r\n$1\r\n0\r\n"},
        {resp("CONFIG", "SET", "zset-max-listpack-entries", "128"), OK},
        {resp("CONFIG", "SET", "save", ""), OK},
        {resp("CONFIG", "SET", "save", "3600 1"), "-ERR CONFIG SET failed (possibly related to argument 'save') - this"
            + " server keeps no RDB snapshots (its history is the replay log): only '' is accepted\r\n"},
        {resp("CONFIG", "GET", "save"), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"},
        {resp("MEMORY", "USAGE", "nokey"), NIL},
        {resp("MEMORY", "USAGE"), arity("memory|usage")},
        {resp("MEMORY"), arity("memory")},
        {resp("MEMORY", "STATS"), "-ERR unknown subcommand 'STATS'. Try MEMORY HELP.\r\n"},
        {resp("MEMORY", "USAGE", "nokey", "SAMPLES", "x"), NOT_INT},
        {resp("MEMORY", "USAGE", "nokey", "SAMPLES", "-1"), SYNTAX},
        {resp("MEMORY", "USAGE", "nokey", "SAMPLES"), SYNTAX},
        {resp("MEMORY", "USAGE", "nokey", "SAMPLES", "0"), NIL},
        {resp("CONFIG", "GET"), arity("config|get")},
        {resp("CONFIG", "REWRITE"), "-ERR unknown subcommand 'REWRITE'. Try CONFIG HELP.\r\n"},
        {resp("COMMAND"), "*0\r\n"},
        {resp("COMMAND", "DOCS"), "*0\r\n"},
        {resp("COMMAND", "INFO", "get"), "*1\r\n$-1\r\n"},
        {resp("CLIENT", "ID"), integer(1)},
        {resp("CLIENT", "GETNAME"), NIL},
        {resp("CLIENT", "SETNAME", "app"), OK},
        {resp("CLIENT", "GETNAME"), bulk("app")},
        {resp("CLIENT", "SETINFO", "LIB-NAME", "redis-py"), OK},
        {resp("CLIENT", "SETNAME", "a b"),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"},
        {resp("CLIENT", "KILL", "x"), "-ERR unknown subcommand 'KILL'. Try CLIENT HELP.\r\n"},
        {resp("HELLO", "3"), "-ERR unknown command 'HELLO', with args beginning with: '3' \r\n"},
        {resp("FOO"), "-ERR unknown command 'FOO', with args beginning with: \r\n"},
        {resp("TIME"), "*2\r\n$10\r\n1700000000\r\n$1\r\n0\r\n"},
        {resp("AUTH", "pw"), "-ERR AUTH <password> called without any password configured for the default user."
            + " Are you sure your configuration is correct?\r\n"},
    };

    @Test
    void server_commands_answer_what_clients_send_on_connect() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            transcript(c, SERVER);
            assertTrue(c.call(resp("COMMAND", "COUNT")).matches(":[0-9]+\r\n"));
            c.call(resp("SET", "small", "1"));
            c.call(resp("SET", "large", "x".repeat(10_000)));
            long small = (Long) KvWire.decode(c.call(resp("MEMORY", "USAGE", "small")));
            long large = (Long) KvWire.decode(c.call(resp("MEMORY", "USAGE", "large", "SAMPLES", "5")));
            assertTrue(small > 0 && large > small + 9_900, "MEMORY USAGE counts the value: " + small + ", " + large);
            c.call(resp("DEL", "small", "large"));
            c.call(resp("SET", "a", "1", "EX", "100"));
            String info = (String) KvWire.decode(c.call(resp("INFO")));
            assertTrue(info.startsWith("# Server\r\nredis_version:7.0.0\r\n"), info);
            assertTrue(info.contains("\r\n# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n"), info);
            assertEquals("# Clients\r\nconnected_clients:1\r\nmaxclients:256\r\n",
                    KvWire.decode(c.call(resp("INFO", "clients"))));
            assertEquals(OK, c.call(resp("QUIT")));
            assertTrue(c.closed, "QUIT closes the connection");
        }
    }

    @Test
    void info_stats_counts_connections_commands_and_expired_keys() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            c.call(resp("SET", "gone", "v", "PX", "10") + resp("SET", "also", "v", "PX", "10") + resp("SET", "here", "v"));
            assertEquals("-ERR wrong number of arguments for 'get' command\r\n", c.call(resp("GET")), "not counted: refused before it ran");
            g.advanceMs(11);
            assertEquals(NIL, c.call(resp("GET", "gone")), "expired when looked up");
            g.open("resp").call(resp("PING"));
            assertEquals(":0\r\n", c.call(resp("EXISTS", "also")));
            assertEquals("# Stats\r\ntotal_connections_received:2\r\ntotal_commands_processed:6\r\n"
                            + "instantaneous_ops_per_sec:0\r\nrejected_connections:0\r\nexpired_keys:2\r\nevicted_keys:0\r\n",
                    KvWire.decode(c.call(resp("INFO", "stats"))));
            String all = (String) KvWire.decode(c.call(resp("INFO")));
            assertTrue(all.indexOf("# Memory") < all.indexOf("# Stats") && all.indexOf("# Stats") < all.indexOf("# Keyspace"), all);
        }
    }

    @Test
    void keys_and_scan_filter_with_glob_patterns() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            for (String k : List.of("user:1", "user:2", "user:10", "admin", "User:3", "a*b", "ab")) {
                assertEquals(OK, c.call(resp("SET", k, "x")));
            }
            assertEquals(Set.of("user:1", "user:2", "user:10"), keys(c, "user:*"));
            assertEquals(Set.of("user:1", "user:2"), keys(c, "user:?"));
            assertEquals(Set.of("user:1", "user:2", "User:3"), keys(c, "[uU]ser:[0-9]"));
            assertEquals(Set.of("admin", "User:3", "a*b", "ab"), keys(c, "[^u]*"));
            assertEquals(Set.of("user:1", "user:10"), keys(c, "*1*"));
            assertEquals(Set.of("a*b"), keys(c, "a\\*b"));
            assertEquals(7, keys(c, "*").size());
            Set<String> scanned = new HashSet<>();
            String cursor = "0";
            do {
                List<?> reply = (List<?>) KvWire.decode(c.call(resp("SCAN", cursor, "MATCH", "user:*", "COUNT", "2")));
                cursor = (String) reply.get(0);
                for (Object k : (List<?>) reply.get(1)) {
                    scanned.add((String) k);
                }
            } while (!cursor.equals("0"));
            assertEquals(Set.of("user:1", "user:2", "user:10"), scanned);
            assertEquals("*2\r\n$1\r\n0\r\n*0\r\n", c.call(resp("SCAN", "0", "TYPE", "hash", "COUNT", "100")));
        }
    }

    private static Set<String> keys(Conn c, String pattern) {
        Set<String> out = new HashSet<>();
        for (Object k : (List<?>) KvWire.decode(c.call(resp("KEYS", pattern)))) {
            assertTrue(out.add((String) k), "KEYS returns each key once: " + k);
        }
        return out;
    }

    @Test
    void scan_sees_every_key_while_the_table_grows_and_shrinks() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            Set<String> kept = new HashSet<>();
            StringBuilder batch = new StringBuilder();
            for (int i = 0; i < 100; i++) {
                batch.append(resp("SET", "keep:" + i, "x"));
                kept.add("keep:" + i);
            }
            c.call(batch.toString());
            int added = 0;
            Set<String> seen = new HashSet<>();
            String cursor = "0";
            int round = 0;
            do {
                List<?> reply = (List<?>) KvWire.decode(c.call(resp("SCAN", cursor, "COUNT", "5")));
                cursor = (String) reply.get(0);
                for (Object k : (List<?>) reply.get(1)) {
                    seen.add((String) k);
                }
                // Grow the table (several rehashes) during the first rounds, then shrink it again.
                StringBuilder change = new StringBuilder();
                if (round < 8) {
                    for (int i = 0; i < 300; i++) {
                        change.append(resp("SET", "tmp:" + added++, "y"));
                    }
                } else if (round < 16) {
                    for (int i = 0; i < 300 && added > 0; i++) {
                        change.append(resp("DEL", "tmp:" + --added));
                    }
                }
                if (change.length() > 0) {
                    c.call(change.toString());
                }
                round++;
            } while (!cursor.equals("0"));
            assertTrue(round > 16, "the scan spanned growth and shrinking (" + round + " rounds)");
            assertTrue(seen.containsAll(kept), "missed: " + kept.stream().filter(k -> !seen.contains(k)).toList());
        }
    }

    // ---- RESP: pipelining, inline commands, framing ---------------------------------------------------------------

    @Test
    void pipelined_requests_get_the_same_replies_in_order() {
        StringBuilder requests = new StringBuilder();
        StringBuilder replies = new StringBuilder();
        for (String[] p : STRINGS) {
            requests.append(p[0]);
            replies.append(p[1]);
        }
        try (KvGuest g = KvGuest.start(FAST)) {
            assertEquals(replies.toString(), g.open("resp").call(requests.toString()));
        }
    }

    @Test
    void inline_commands_follow_redis_quoting() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            transcript(c, new String[][] {
                {"PING\r\n", "+PONG\r\n"},
                {"  ping  \n", "+PONG\r\n"},
                {"\r\n\n", ""},
                {"SET a \"b c\"\r\n", OK},
                {"GET a\n", bulk("b c")},
                {"SET q 'it\\'s'\r\n", OK},
                {"GET q\r\n", bulk("it's")},
                {"ECHO \"\\x41\\n\\t\"\r\n", bulk("A\n\t")},
                {"SET x\"y z\" v\r\n", OK},
                {"GET \"xy z\"\r\n", bulk("v")},
                {"GET\r\n", arity("get")},
            });
            assertEquals("-ERR Protocol error: unbalanced quotes in request\r\n", c.call("SET a \"oops\r\n"));
            assertTrue(c.closed);
        }
    }

    @Test
    void a_request_split_at_every_byte_gets_the_same_replies() {
        String requests = resp("SET", "key", "va\r\nlue") + "PING\r\n" + resp("GET", "key")
                + resp("MGET", "key", "nope") + "ECHO \"x y\"\r\n" + resp("DEL", "key") + resp("GET", "key");
        String expected = OK + "+PONG\r\n" + bulk("va\r\nlue") + "*2\r\n" + bulk("va\r\nlue") + NIL + bulk("x y")
                + integer(1) + NIL;
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            assertEquals(expected, c.call(requests), "unsplit");
            for (int i = 1; i < requests.length(); i++) {
                c.send(requests.substring(0, i));
                String first = c.take();
                c.send(requests.substring(i));
                assertEquals(expected, first + c.take(), "split after byte " + i);
            }
        }
    }

    @Test
    void bad_framing_gets_a_protocol_error_and_a_close_like_redis() {
        String[][] cases = {
            {"*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
            {"*9999999\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
            {"*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"},
            {"*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
            {"*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
            {"*1\r\n$999999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
            // Whole commands with numbers Redis refuses (sign, leading zero): the kv's one-pass parser leaves them to
            // the step parser, which answers as Redis does.
            {"*1\r\n$04\r\nPING\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
            {"*1\r\n$+4\r\nPING\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
            {"*01\r\n$4\r\nPING\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
            {"*2\r\n$4\r\nECHO\r\n$1\r\nab\r\n", "-ERR Protocol error: expected CRLF after bulk data\r\n"},
            {"*2\r\n$3\r\nGET\r\n$1\r\nkXY", "-ERR Protocol error: expected CRLF after bulk data\r\n"},
            {"PING\r\n*x\r\n", "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"},
            {"x".repeat(70_000), "-ERR Protocol error: too big inline request\r\n"},
            {"*1\r\n$" + "1".repeat(70_000), "-ERR Protocol error: too big bulk count string\r\n"},
        };
        try (KvGuest g = KvGuest.start(FAST)) {
            for (String[] c : cases) {
                Conn conn = g.open("resp");
                assertEquals(c[1], conn.call(c[0]), "reply to " + c[0].substring(0, Math.min(40, c[0].length())));
                assertTrue(conn.closed, "closed after " + c[1]);
            }
            Conn ok = g.open("resp");
            assertEquals("+PONG\r\n", ok.call("*0\r\n*-1\r\nPING\r\n"), "empty multibulks are skipped");
            assertFalse(ok.closed);
        }
    }

    @Test
    void many_interleaved_connections_on_all_three_protocols() {
        try (KvGuest g = KvGuest.start(FAST)) {
            int n = 40;
            List<Conn> r = new ArrayList<>();
            List<Conn> h = new ArrayList<>();
            List<Conn> l = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                r.add(g.open("resp"));
                h.add(g.open("http"));
                l.add(g.open("line"));
            }
            for (int i = n - 1; i >= 0; i--) { // first parts, in reverse order
                r.get(i).send(resp("SET", "r" + i, "v" + i).substring(0, 5));
                h.get(i).send("PUT /h" + i + " HTTP/1.1\r\nContent-Length: " + ("v" + i).length() + "\r\n\r\n");
                l.get(i).send("SET l" + i);
            }
            g.settle();
            for (int i = 0; i < n; i++) { // the rest of each write
                r.get(i).send(resp("SET", "r" + i, "v" + i).substring(5));
                h.get(i).send("v" + i);
                l.get(i).send(" v" + i + "\n");
            }
            g.settle();
            for (int i = 0; i < n; i++) { // each reads what another protocol wrote
                r.get(i).send(resp("GET", "h" + i));
                h.get(i).send("GET /l" + i + " HTTP/1.1\r\n\r\n");
                l.get(i).send("GET r" + i + "\n");
            }
            g.settle();
            for (int i = 0; i < n; i++) {
                assertEquals(OK + bulk("v" + i), r.get(i).take(), "resp " + i);
                List<Response> rs = KvWire.responses(h.get(i).take());
                assertEquals(201, rs.get(0).status());
                assertEquals("v" + i, rs.get(1).body(), "http " + i);
                assertEquals("OK\nVALUE v" + i + "\n", l.get(i).take(), "line " + i);
            }
        }
    }

    @Test
    void connections_beyond_the_limit_are_told_and_closed() {
        try (KvGuest g = KvGuest.start(FAST)) {
            List<Conn> open = new ArrayList<>();
            for (int i = 0; i < 256; i++) {
                open.add(g.open("resp"));
                if (i % 100 == 99) {
                    g.settle(); // stay within the listen backlog (128)
                }
            }
            g.settle();
            Conn extra = g.open("resp");
            g.settle();
            assertEquals("-ERR max number of clients reached\r\n", extra.take());
            assertTrue(extra.closed);
            assertEquals("+PONG\r\n", open.get(255).call("PING\r\n"));
            open.get(0).halfClose();
            g.settle();
            assertTrue(open.get(0).closed);
            assertEquals("+PONG\r\n", g.open("resp").call("PING\r\n"), "a freed slot is used again");
        }
    }

    @Test
    void half_closed_clients_still_get_their_replies() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn r = g.open("resp").send(resp("SET", "a", "1") + resp("GET", "a") + "*2\r\n$3\r\nGET").halfClose();
            assertEquals(OK + bulk("1"), r.take(), "the partial last command is dropped");
            assertTrue(r.closed);
            Conn h = g.open("http").send("GET /a HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\n\r\n").halfClose();
            List<Response> rs = KvWire.responses(h.take());
            assertEquals(2, rs.size());
            assertEquals("1", rs.get(1).body());
            assertTrue(h.closed);
            Conn l = g.open("line").send("GET a\nGET a").halfClose();
            assertEquals("VALUE 1\nVALUE 1\n", l.take(), "a last line without newline is answered");
            assertTrue(l.closed);
        }
    }

    @Test
    void a_reset_connection_is_forgotten() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn a = g.open("resp");
            a.send("*2\r\n$3\r\nGET\r\n$1");
            g.settle();
            g.reset(a);
            g.settle();
            assertEquals("# Clients\r\nconnected_clients:1\r\nmaxclients:256\r\n",
                    KvWire.decode(g.open("resp").call(resp("INFO", "clients"))));
        }
    }

    // ---- expiry on frame time ---------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Engine.class)
    void keys_expire_on_frame_time(Engine engine) {
        try (KvGuest g = KvGuest.start(engine)) {
            Conn c = g.open("resp");
            assertEquals(OK, c.call(resp("SET", "k", "v", "PX", "100")));
            g.advanceMs(50);
            assertEquals(bulk("v"), c.call(resp("GET", "k")));
            assertEquals(integer(50), c.call(resp("PTTL", "k")));
            g.advanceMs(50);
            assertEquals(bulk("v"), c.call(resp("GET", "k")), "at its expiry time a key still lives (Redis: now > when)");
            g.advanceMs(1);
            assertEquals(NIL, c.call(resp("GET", "k")));
            assertEquals(integer(-2), c.call(resp("TTL", "k")));
            assertEquals(integer(0), c.call(resp("EXISTS", "k")));
        }
    }

    @Test
    void expired_keys_are_swept_on_a_timer_frame() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            long setAt = g.timeNs;
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < 10; i++) {
                b.append(resp("SET", "e" + i, "v", "EX", "1"));
            }
            b.append(resp("SET", "keep", "v"));
            c.call(b.toString());
            long first = setAt + 1_000_000_000L;
            assertTrue(g.timers.contains(first), "a sweep is requested 1 s later: " + g.timers);
            g.tickAt(first);
            assertEquals(integer(11), c.call(resp("DBSIZE")), "at their expiry time the keys still live");
            assertEquals(first + 1_000_000_000L, g.timers.get(g.timers.size() - 1));
            int timersBefore = g.timers.size();
            g.tickAt(first + 1_000_000_000L);
            assertEquals(integer(1), c.call(resp("DBSIZE")), "the sweep removed the expired keys");
            assertEquals(timersBefore, g.timers.size(), "no key has a TTL any more: no further timer");
            assertEquals("*1\r\n$4\r\nkeep\r\n", c.call(resp("KEYS", "*")));
        }
    }

    @Test
    void expired_keys_are_invisible_to_keys_scan_and_http() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            c.call(resp("SET", "gone", "v", "PX", "10") + resp("SET", "here", "v"));
            g.advanceMs(11);
            assertEquals("*1\r\n$4\r\nhere\r\n", c.call(resp("KEYS", "*")));
            assertEquals("*2\r\n$1\r\n0\r\n*1\r\n$4\r\nhere\r\n", c.call(resp("SCAN", "0")));
            assertEquals("[\"here\"]\n", KvWire.response(g.open("http").call("GET / HTTP/1.1\r\n\r\n")).body());
            assertEquals(404, KvWire.response(g.open("http").call("GET /gone HTTP/1.1\r\n\r\n")).status());
            assertEquals("ERR: Key not found\n", g.open("line").call("GET gone\n"));
        }
    }

    // ---- limits -----------------------------------------------------------------------------------------------------

    @Test
    void values_up_to_the_limit_are_stored_and_one_byte_more_is_refused() {
        String big = "v".repeat(MAX_VALUE - 1) + "!";
        try (KvGuest g = KvGuest.startWith1MiBValues(FAST)) {
            Conn c = g.open("resp");
            assertEquals(OK, c.call(resp("SET", "big", big)));
            assertEquals(bulk(big), c.call(resp("GET", "big")));
            assertEquals(integer(MAX_VALUE), c.call(resp("STRLEN", "big")));
            assertEquals("-ERR argument too large (limit 1048576 bytes)\r\n" + "+PONG\r\n",
                    c.call(resp("SET", "big", big + "x") + "PING\r\n"), "the connection goes on");
            assertEquals("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
                    c.call(resp("APPEND", "big", "x")));
            assertEquals(integer(MAX_VALUE), c.call(resp("STRLEN", "big")));
            String key = "k".repeat(MAX_KEY);
            assertEquals(OK, c.call(resp("SET", key, "1")));
            assertEquals("-ERR key too large (limit 16384 bytes)\r\n", c.call(resp("GET", key + "k")));
            StringBuilder many = new StringBuilder("*70000\r\n");
            for (int i = 0; i < 70_000; i++) {
                many.append("$1\r\na\r\n");
            }
            assertEquals("-ERR too many arguments (limit 65536)\r\n+PONG\r\n", c.call(many + "PING\r\n"));

            Conn h = g.open("http");
            Response put = KvWire.response(h.call("PUT /hbig HTTP/1.1\r\nContent-Length: " + MAX_VALUE + "\r\n\r\n" + big));
            assertEquals(201, put.status());
            assertEquals(big, KvWire.response(h.call("GET /hbig HTTP/1.1\r\n\r\n")).body());
            Response tooBig = KvWire.response(h.call("PUT /hbig HTTP/1.1\r\nContent-Length: " + (MAX_VALUE + 1)
                    + "\r\n\r\n"));
            assertEquals(413, tooBig.status());
            assertTrue(h.closed);

            Conn l = g.open("line");
            assertEquals("OK\n", l.call("SET lbig " + big + "\n"));
            assertEquals("VALUE " + big + "\n", l.call("GET lbig\n"));
            assertEquals("ERR: Value too large\n", l.call("SET lbig " + big + "x\n"));
            assertEquals("VALUE " + big + "\n", l.call("GET lbig\n"));
        }
    }

    // ---- HTTP -------------------------------------------------------------------------------------------------------

    private static final String ALL_METHODS = "GET, HEAD, PUT, POST, DELETE";

    @Test
    void http_serves_keys_with_keep_alive_and_every_status() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn h = g.open("http");
            List<Response> all = new ArrayList<>();
            Response r = KvWire.response(h.call("PUT /hello HTTP/1.1\r\nHost: kv\r\nContent-Length: 5\r\n\r\nworld"));
            all.add(r);
            assertEquals(201, r.status());
            assertEquals("Created", r.reason());
            r = KvWire.response(h.call("GET /hello HTTP/1.1\r\nHost: kv\r\n\r\n"));
            all.add(r);
            assertEquals(200, r.status());
            assertEquals("world", r.body());
            assertEquals("application/octet-stream", r.header("Content-Type"));
            assertEquals("5", r.header("Content-Length"));
            r = KvWire.response(h.call("POST /hello HTTP/1.1\r\nContent-Length: 3\r\n\r\nnew"), false);
            all.add(r);
            assertEquals(204, r.status());
            assertNull(r.header("Content-Length"), "204 has no Content-Length (RFC 9110 8.6)");
            r = KvWire.response(h.call("HEAD /hello HTTP/1.1\r\n\r\n"), true);
            all.add(r);
            assertEquals(200, r.status());
            assertEquals("3", r.header("Content-Length"));
            assertEquals("", r.body());
            r = KvWire.response(h.call("GET /nope HTTP/1.1\r\n\r\n"));
            all.add(r);
            assertEquals(404, r.status());
            r = KvWire.response(h.call("PATCH /hello HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
            all.add(r);
            assertEquals(405, r.status());
            assertEquals(ALL_METHODS, r.header("Allow"));
            r = KvWire.response(h.call("PUT / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
            all.add(r);
            assertEquals(405, r.status());
            assertEquals("GET, HEAD", r.header("Allow"));
            r = KvWire.response(h.call("PUT /x HTTP/1.1\r\n\r\n"));
            all.add(r);
            assertEquals(411, r.status());
            r = KvWire.response(h.call("DELETE /hello HTTP/1.1\r\n\r\n"));
            all.add(r);
            assertEquals(204, r.status());
            r = KvWire.response(h.call("DELETE /hello HTTP/1.1\r\n\r\n"));
            all.add(r);
            assertEquals(404, r.status());
            assertFalse(h.closed, "keep-alive: one connection for all of the above");
            all.add(closingError(g, "HELLO\r\n\r\n", 400));
            all.add(closingError(g, "GET /%zz HTTP/1.1\r\n\r\n", 400));
            all.add(closingError(g, "PUT /x HTTP/1.1\r\nContent-Length: 67108865\r\n\r\n", 413));
            all.add(closingError(g, "GET /x HTTP/1.1\r\nX-Big: " + "a".repeat(40_000) + "\r\n\r\n", 431));
            all.add(closingError(g, "PUT /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501));
            all.add(closingError(g, "GET /x HTTP/2.0\r\n\r\n", 505));
            for (Response each : all) {
                assertNotNull(each.header("Content-Type"), each.status() + " has a Content-Type");
                if (each.status() != 204) {
                    assertNotNull(each.header("Content-Length"), each.status() + " has a Content-Length");
                }
            }
        }
    }

    @Test
    void the_default_value_limit_is_64_mib_as_configured_in_the_environment_otherwise() {
        // Redis's own suite sets and reads back a 4 MB value ("Very big payload in GET/SET").
        String four = "abcd".repeat(1_000_000);
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            assertEquals(array("proto-max-bulk-len", "67108864"), c.call(resp("CONFIG", "GET", "proto-max-bulk-len")));
            assertEquals(OK, c.call(resp("SET", "foo", four)));
            assertEquals(bulk(four), c.call(resp("GET", "foo")));
            assertEquals("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
                    c.call(resp("SETRANGE", "foo", String.valueOf(64 << 20), "x")));
        }
        try (KvGuest g = KvGuest.startWith1MiBValues(FAST)) {
            assertEquals(array("proto-max-bulk-len", "1048576"), g.open("resp").call(resp("CONFIG", "GET", "proto-max-bulk-len")));
        }
    }

    private static Response closingError(KvGuest g, String request, int status) {
        Conn c = g.open("http");
        Response r = KvWire.response(c.call(request));
        assertEquals(status, r.status(), request.substring(0, Math.min(30, request.length())));
        assertEquals("close", r.header("Connection"));
        assertTrue(c.closed, status + " closes the connection");
        return r;
    }

    @Test
    void http_pipelining_chunked_bodies_and_expect_continue() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn h = g.open("http");
            String raw = h.call("PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n"
                    + "0\r\nX-Trailer: t\r\n\r\n"
                    + "GET /c HTTP/1.1\r\n\r\n"
                    + "HEAD /c HTTP/1.1\r\n\r\n"
                    + "PUT /d HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"
                    + "GET /d HTTP/1.1\r\nConnection: close\r\n\r\n"
                    + "GET /c HTTP/1.1\r\n\r\n");
            List<Response> rs = KvWire.responses(raw, false, false, true);
            assertEquals(5, rs.size(), "nothing is answered after Connection: close");
            assertEquals(201, rs.get(0).status());
            assertEquals("hello world", rs.get(1).body());
            assertEquals("11", rs.get(2).header("Content-Length"));
            assertEquals(201, rs.get(3).status());
            assertEquals("x", rs.get(4).body());
            assertEquals("close", rs.get(4).header("Connection"));
            assertTrue(h.closed);

            Conn e = g.open("http");
            assertEquals("HTTP/1.1 100 Continue\r\n\r\n",
                    e.call("PUT /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
            assertEquals(201, KvWire.response(e.call("body")).status());

            Conn old = g.open("http");
            Response r = KvWire.response(old.call("GET /e HTTP/1.0\r\n\r\n"));
            assertEquals("body", r.body());
            assertTrue(old.closed, "HTTP/1.0 without keep-alive closes");
        }
    }

    @Test
    void http_lists_keys_as_json_with_a_prefix() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            for (String k : List.of("banana", "apple", "a b", "apricot", "q\"\\\u0001\u00ff", "caf\u00c3\u00a9")) {
                assertEquals(OK, c.call(resp("SET", k, "x")));
            }
            Conn h = g.open("http");
            Response all = KvWire.response(h.call("GET / HTTP/1.1\r\n\r\n"));
            assertEquals("application/json", all.header("Content-Type"));
            assertEquals("[\"a b\",\"apple\",\"apricot\",\"banana\",\"caf\u00c3\u00a9\",\"q\\\"\\\\\\u0001\\u00ff\"]\n",
                    all.body());
            assertEquals("[\"apple\",\"apricot\"]\n", KvWire.response(h.call("GET /?prefix=ap HTTP/1.1\r\n\r\n")).body());
            assertEquals("[\"a b\"]\n", KvWire.response(h.call("GET /?prefix=a+ HTTP/1.1\r\n\r\n")).body());
            assertEquals("[]\n", KvWire.response(h.call("GET /?prefix=zzz HTTP/1.1\r\n\r\n")).body());
            Response head = KvWire.response(h.call("HEAD /?prefix=ap HTTP/1.1\r\n\r\n"), true);
            assertEquals("20", head.header("Content-Length"));
        }
    }

    @Test
    void http_listing_stops_at_ten_thousand_keys_in_order() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            for (int batch = 0; batch < 20; batch++) {
                List<String> mset = new ArrayList<>(List.of("MSET"));
                for (int i = 0; i < 1000; i++) {
                    String k = String.format("k%05d", ((batch * 1000 + i) * 7919) % 20_000); // a permutation
                    mset.add(k);
                    mset.add("v");
                }
                assertEquals(OK, c.call(resp(mset.toArray(String[]::new))));
            }
            assertEquals(integer(20_000), c.call(resp("DBSIZE")));
            Response r = KvWire.response(g.open("http").call("GET /?prefix=k HTTP/1.1\r\n\r\n"));
            assertEquals("true", r.header("X-Truncated"));
            StringBuilder expected = new StringBuilder("[");
            for (int i = 0; i < 10_000; i++) {
                expected.append(i > 0 ? "," : "").append(String.format("\"k%05d\"", i));
            }
            assertEquals(expected.append("]\n").toString(), r.body());
        }
    }

    @Test
    void http_keys_are_percent_decoded_and_binary_safe() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn h = g.open("http");
            byte[] value = new byte[256];
            for (int i = 0; i < 256; i++) {
                value[i] = (byte) i;
            }
            String body = new String(value, StandardCharsets.ISO_8859_1);
            assertEquals(201, KvWire.response(h.call("PUT /a%2Fb%20c%00 HTTP/1.1\r\nContent-Length: 256\r\n\r\n"
                    + body)).status());
            assertEquals(bulk(body), g.open("resp").call(resp("GET", "a/b c\0")));
            assertEquals(body, KvWire.response(h.call("GET /a/b%20c%00 HTTP/1.1\r\n\r\n")).body());
        }
    }

    @Test
    void http_request_split_at_every_byte_gets_the_same_responses() {
        String requests = "PUT /s HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                + "GET /s HTTP/1.1\r\nHost: x\r\n\r\n"
                + "DELETE /s HTTP/1.1\r\n\r\n";
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("http");
            String expected = c.call(requests);
            assertEquals(3, KvWire.responses(expected).size());
            for (int i = 1; i < requests.length(); i++) {
                c.send(requests.substring(0, i));
                String first = c.take();
                c.send(requests.substring(i));
                assertEquals(expected, first + c.take(), "split after byte " + i);
            }
        }
    }

    // ---- the line protocol ----------------------------------------------------------------------------------------

    @ParameterizedTest
    @EnumSource(Engine.class)
    void line_protocol_transcript_byte_for_byte(Engine engine) {
        try (KvGuest g = KvGuest.start(engine)) {
            Conn l = g.open("line");
            String[][] lines = {
                {"SET hello world\n", "OK\n"},
                {"GET hello\n", "VALUE world\n"},
                {"SET greeting hello there\n", "OK\n"},
                {"GET greeting\n", "VALUE hello there\n"},
                {"GET greeting\r\n", "VALUE hello there\n"},
                {"GET nope\n", "ERR: Key not found\n"},
                {"DEL hello\n", "OK\n"},
                {"GET hello\n", "ERR: Key not found\n"},
                {"DEL hello\n", "OK\n"},
                {"FOO\n", "ERR: Unknown command\n"},
                {"get greeting\n", "ERR: Unknown command\n"},
                {"SET onlykey\n", "ERR: Unknown command\n"},
                {"GET\n", "ERR: Unknown command\n"},
                {"\n", "ERR: Unknown command\n"},
                {"SET a 1\nGET a\nDEL a\nGET a\n", "OK\nVALUE 1\nOK\nERR: Key not found\n"},
                {"QUIT\n", "BYE\n"},
            };
            for (String[] p : lines) {
                assertEquals(p[1], l.call(p[0]), "reply to " + p[0].trim());
            }
            assertTrue(l.closed, "QUIT closes");
            String script = "SET k v\nGET k\nDEL k\nGET k\nQUIT\n";
            String expected = "OK\nVALUE v\nOK\nERR: Key not found\nBYE\n";
            for (int i = 1; i < script.length(); i++) {
                Conn s = g.open("line");
                s.send(script.substring(0, i));
                String first = s.take();
                s.send(script.substring(i));
                assertEquals(expected, first + s.take(), "split after byte " + i);
            }
        }
    }

    // ---- one store --------------------------------------------------------------------------------------------------

    @Test
    void one_store_behind_all_three_protocols() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn r = g.open("resp");
            Conn h = g.open("http");
            Conn l = g.open("line");
            assertEquals(OK, r.call(resp("SET", "x", "from resp")));
            assertEquals("from resp", KvWire.response(h.call("GET /x HTTP/1.1\r\n\r\n")).body());
            assertEquals("VALUE from resp\n", l.call("GET x\n"));
            assertEquals(201, KvWire.response(h.call("PUT /n HTTP/1.1\r\nContent-Length: 2\r\n\r\n10")).status());
            assertEquals(integer(11), r.call(resp("INCR", "n")));
            assertEquals("VALUE 11\n", l.call("GET n\n"));
            assertEquals("OK\n", l.call("SET y from line\n"));
            assertEquals(bulk("from line"), r.call(resp("GET", "y")));
            assertEquals("from line", KvWire.response(h.call("GET /y HTTP/1.1\r\n\r\n")).body());
            assertEquals("OK\n", l.call("DEL x\n"));
            assertEquals(NIL, r.call(resp("GET", "x")));
            assertEquals(404, KvWire.response(h.call("GET /x HTTP/1.1\r\n\r\n")).status());
            assertEquals(204, KvWire.response(h.call("DELETE /y HTTP/1.1\r\n\r\n")).status());
            assertEquals(integer(1), r.call(resp("DBSIZE")));
        }
    }

    @Test
    void listeners_missing_from_the_config_are_not_served_and_unknown_ones_are_closed() {
        try (KvGuest g = KvGuest.start(FAST, GuestConfig.of("kv", List.of("http", "admin")))) {
            assertEquals(201, KvWire.response(g.open("http").call("PUT /a HTTP/1.1\r\nContent-Length: 1\r\n\r\n1"))
                    .status());
            Conn admin = g.open("admin");
            assertEquals("", admin.call("PING\r\n"));
            assertTrue(admin.closed);
            Conn resp = g.open("resp");
            g.settle();
            assertTrue(resp.reset, "no resp listener: the connection is refused");
        }
    }

    @Test
    void a_client_that_reads_slowly_gets_every_reply_in_order() {
        GuestConfig small = GuestConfig.of("kv", KvGuest.LISTENERS)
                .withLimits(GuestLimits.DEFAULT.withSendWindowBytes(4096));
        try (KvGuest g = KvGuest.start(FAST, small)) {
            Conn c = g.open("resp");
            String value = "x".repeat(1000);
            assertEquals(OK, c.call(resp("SET", "v", value)));
            StringBuilder gets = new StringBuilder();
            StringBuilder expected = new StringBuilder();
            for (int i = 0; i < 1000; i++) { // 1 MB of replies: past netloop's 256 KiB high-water mark
                gets.append(resp("GET", "v")).append(resp("ECHO", String.valueOf(i)));
                expected.append(bulk(value)).append(bulk(String.valueOf(i)));
            }
            assertEquals(expected.toString(), c.call(gets.toString()));
            Conn h = g.open("http");
            StringBuilder reqs = new StringBuilder();
            for (int i = 0; i < 400; i++) {
                reqs.append("GET /v HTTP/1.1\r\n\r\n");
            }
            List<Response> rs = KvWire.responses(h.call(reqs.toString()));
            assertEquals(400, rs.size());
            assertTrue(rs.stream().allMatch(r -> r.body().equals(value)));
        }
    }

    @Test
    void a_snapshot_restored_into_a_fresh_machine_answers_the_same() {
        try (KvGuest g = KvGuest.start(FAST)) {
            Conn c = g.open("resp");
            c.call(resp("SET", "a", "1") + resp("SET", "t", "x", "PX", "5000") + resp("INCR", "n"));
            g.open("http").call("PUT /h HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
            byte[] snapshot = g.machine.snapshot();
            try (GuestMachine copy = GuestMachine.create(
                    GuestModule.load(KvGuest.wasm(), FAST),
                    GuestConfig.of("kv", KvGuest.LISTENERS).withGenesis(new byte[] {4, 2}, T0))) {
                copy.restore(snapshot);
                Frame next = new Frame("kv", 1, g.seq() + 1, g.timeNs + 1_000_000,
                        new byte[] {9}, List.of(new IngressEvent.Data(c.id,
                                KvWire.latin1(resp("MGET", "a", "t", "n", "h") + resp("INCR", "n") + resp("PTTL", "t")))));
                List<Output> original = g.machine.apply(next);
                assertEquals(original, copy.apply(next));
                assertArrayEquals(g.machine.digest(), copy.digest());
                StringBuilder sent = new StringBuilder();
                for (Output o : original) {
                    if (o instanceof Output.Send send) {
                        sent.append(new String(send.bytes(), StandardCharsets.ISO_8859_1));
                    }
                }
                assertEquals("*4\r\n" + bulk("1") + bulk("x") + bulk("1") + bulk("hi") + integer(2) + integer(4999), sent.toString());
            }
        }
    }

    @Test
    void same_frames_give_the_same_outputs_and_state() {
        byte[][] digests = new byte[2][];
        List<List<Output>> outs = new ArrayList<>();
        for (int run = 0; run < 2; run++) {
            try (KvGuest g = KvGuest.start(FAST)) {
                Conn c = g.open("resp");
                StringBuilder b = new StringBuilder();
                for (int i = 0; i < 500; i++) {
                    b.append(resp("SET", "k" + i, "v" + i, "PX", String.valueOf(1000 + i)));
                }
                c.call(b.toString());
                c.call(resp("KEYS", "*") + resp("SCAN", "0", "COUNT", "50"));
                g.open("http").call("GET / HTTP/1.1\r\n\r\n");
                digests[run] = g.machine.digest();
                outs.add(List.copyOf(g.outputs));
            }
        }
        assertArrayEquals(digests[0], digests[1]);
        assertEquals(outs.get(0), outs.get(1));
    }
}
