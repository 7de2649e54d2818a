package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.replicode.nat.Frame;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.node.TestGuests;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.machine.GuestMachine;
import io.replicode.replica.module.Engine;
import io.replicode.replica.module.GuestModule;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Differential test against the real thing: seeded random command sequences (strings, counters, ranges, bits, LCS,
 * keys, expiry, errors included, some pipelined) go to Debian's {@code redis-server} and to the kv guest through the
 * pipeline (three replicas), and every reply is compared byte for byte; replies that legitimately differ (times) are
 * compared by shape. The random sequences and the edge cases also go to the guest directly on a {@link GuestMachine}
 * (no gateway, sequencer or network), so a difference can be told apart from the pipeline's. A failing seed is printed
 * with the command that differed, so it reproduces.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class KvDifferentialTest {
    private static final int SEEDS = Integer.getInteger("kv.diff.seeds", 8);
    private static final int COMMANDS_PER_SEED = 400;

    @TempDir
    Path tmp;

    private Process redis;
    private KvNode kv;

    @AfterEach
    void stop() throws Exception {
        if (kv != null) {
            kv.close();
        }
        if (redis != null) {
            redis.destroy();
            redis.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Starts redis-server and the kv node; returns redis-server's port. */
    private int startBoth() throws Exception {
        int port = startRedis();
        kv = new KvNode(tmp.resolve("data"));
        return port;
    }

    /** Starts redis-server alone (the machine target needs no node); returns its port. */
    private int startRedis() throws Exception {
        Path server = Path.of("/usr/bin/redis-server");
        assertTrue(Files.isExecutable(server), "redis-server is needed: apt-get install redis-server (.ci/run installs it)");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        redis = new ProcessBuilder(server.toString(), "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--databases", "1", "--dir", tmp.toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("redis.log").toFile()).start();
        return port;
    }

    /** Edge cases a random sequence rarely reaches, each compared with redis-server's reply byte for byte. */
    private static final List<List<String>> EDGE_CASES = List.of(
            List.of("RANDOMKEY"), List.of("FUNCTION", "FLUSH"), List.of("FUNCTION", "LIST"),
            List.of("SET", "s", "Hello World"),
            List.of("GETRANGE", "s", "-5", "-1"), List.of("GETRANGE", "s", "5", "3"), List.of("GETRANGE", "s", "-1", "-5"),
            List.of("GETRANGE", "s", "0", "9223372036854775807"), List.of("SUBSTR", "s", "0", "4"),
            List.of("GETRANGE", "nokey", "0", "-1"), List.of("GETRANGE", "s", "x", "1"),
            List.of("SETRANGE", "s", "6", "Redis"), List.of("GET", "s"), List.of("SETRANGE", "new", "3", ""),
            List.of("EXISTS", "new"), List.of("SETRANGE", "new", "3", "x"), List.of("GET", "new"),
            List.of("SETRANGE", "s", "-1", "x"), List.of("SETRANGE", "s", "536870911", "xx"),
            List.of("SETRANGE", "s", "9223372036854775807", "A"), List.of("SETRANGE", "s", "9223372036854775806", "A"),
            List.of("GETRANGE", "s", "0", "-1"),
            List.of("SETBIT", "b", "7", "1"), List.of("SETBIT", "b", "7", "0"), List.of("SETBIT", "b", "7", "2"),
            List.of("SETBIT", "b", "-1", "1"), List.of("SETBIT", "b", "4294967296", "1"), List.of("GETBIT", "b", "100"),
            List.of("SETBIT", "b", "100", "1"), List.of("BITCOUNT", "b"), List.of("BITCOUNT", "b", "0", "-1", "BIT"),
            List.of("BITCOUNT", "b", "1"), List.of("BITCOUNT", "b", "0", "1", "NIBBLE"), List.of("BITPOS", "b", "2"),
            List.of("BITPOS", "b", "1", "2", "-1", "BYTE"), List.of("BITPOS", "b", "0", "0", "-1", "BIT"),
            List.of("SET", "ff", "\u00ff\u00ff"), List.of("BITPOS", "ff", "0"), List.of("BITPOS", "ff", "0", "0"),
            List.of("BITPOS", "ff", "0", "0", "-1"), List.of("BITPOS", "nokey", "0"), List.of("BITPOS", "nokey", "1"),
            List.of("SET", "a", "ohmytext"), List.of("SET", "bb", "mynewtext"), List.of("LCS", "a", "bb"),
            List.of("LCS", "a", "bb", "LEN"), List.of("LCS", "a", "bb", "IDX"),
            List.of("LCS", "a", "bb", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"), List.of("LCS", "a", "bb", "LEN", "IDX"),
            List.of("SET", "n", "10.50"), List.of("INCRBYFLOAT", "n", "0.1"), List.of("INCRBYFLOAT", "n", "-5.0e3"),
            List.of("INCRBYFLOAT", "n", "abc"), List.of("INCRBYFLOAT", "n", "+inf"), List.of("SET", "n", "5.0e3"),
            List.of("INCRBYFLOAT", "n", "2.0e2"), List.of("INCRBYFLOAT", "new2", "-0.0"),
            List.of("SET", "e", "v", "EX", "100"), List.of("GETEX", "e", "PERSIST"), List.of("TTL", "e"),
            List.of("GETEX", "e", "EX", "-1"), List.of("GETEX", "e", "EX", "0"), List.of("GETEX", "e", "PX", "10", "EX", "1"),
            List.of("GETEX", "nokey"), List.of("MSETNX", "x1", "1", "x2", "2"), List.of("MSETNX", "x2", "3", "x3", "4"),
            List.of("MGET", "x1", "x2", "x3"), List.of("MSETNX", "x1"), List.of("RENAME", "nokey", "y"),
            List.of("RENAME", "x1", "x1"), List.of("RENAMENX", "x1", "x1"), List.of("RENAME", "x1", "y1"),
            List.of("RENAMENX", "x2", "y1"), List.of("GET", "y1"), List.of("COPY", "y1", "y1"),
            List.of("COPY", "y1", "z1"), List.of("COPY", "y1", "z1"), List.of("COPY", "y1", "z1", "REPLACE"),
            List.of("COPY", "y1", "z2", "DB", "1"), List.of("COPY", "y1", "z2", "FOO"), List.of("EXPIRETIME", "nokey"),
            List.of("EXPIRETIME", "y1"), List.of("PEXPIRETIME", "y1"), List.of("OBJECT", "ENCODING", "y1"),
            List.of("OBJECT", "ENCODING", "s"), List.of("SET", "long", "x".repeat(45)), List.of("OBJECT", "ENCODING", "long"),
            List.of("OBJECT", "ENCODING", "nokey"), List.of("OBJECT", "REFCOUNT", "s"), List.of("OBJECT", "NOPE", "s"),
            List.of("APPEND", "s", "!"), List.of("STRLEN", "s"),
            List.of("HSET", "hh", "a", "1", "b", "2"), List.of("HSET", "hh", "a"), List.of("TYPE", "hh"),
            List.of("OBJECT", "ENCODING", "hh"), List.of("HRANDFIELD", "nokey"), List.of("HRANDFIELD", "nokey", "3"),
            List.of("HRANDFIELD", "hh", "0"), List.of("HRANDFIELD", "hh", "5", "WITHVALUES", "x"),
            List.of("HSCAN", "hh", "0"), List.of("HSCAN", "hh", "0", "MATCH", "a*"), List.of("HSCAN", "hh", "x"),
            List.of("HINCRBYFLOAT", "hh", "a", "1e5000"), List.of("HINCRBY", "hh", "a", "x"), List.of("HINCRBY", "hh", "c", "-3"),
            List.of("HSET", "hh", "s", "text"), List.of("HINCRBY", "hh", "s", "1"), List.of("HINCRBYFLOAT", "hh", "s", "1"),
            List.of("GET", "hh"), List.of("MGET", "hh", "s"), List.of("SET", "hh", "x", "GET"), List.of("LCS", "hh", "s"),
            List.of("COPY", "hh", "hh2"), List.of("HGETALL", "hh2"), List.of("RENAME", "hh2", "hh3"), List.of("HGETALL", "hh3"),
            List.of("EXISTS", "hh2"),
            List.of("HDEL", "hh3", "a", "b", "c", "s"), List.of("EXISTS", "hh3"), List.of("SET", "hh", "now a string"),
            List.of("TYPE", "hh"), List.of("HSET", "big", "f", "x".repeat(65)), List.of("OBJECT", "ENCODING", "big"),
            List.of("RPUSH", "l", "a", "b", "c", "b"), List.of("OBJECT", "ENCODING", "l"), List.of("TYPE", "l"),
            List.of("LPOS", "l", "b", "RANK", "0"), List.of("LPOS", "l", "b", "COUNT", "-1"), List.of("LPOS", "l", "b", "RANK", "-1"),
            List.of("LPOS", "l", "b", "COUNT", "0"), List.of("LPOP", "l", "-1"), List.of("LPOP", "l", "0"), List.of("LPOP", "nol", "2"),
            List.of("LSET", "nol", "0", "x"), List.of("LSET", "l", "9", "x"), List.of("LINSERT", "l", "middle", "a", "x"),
            List.of("LMOVE", "l", "l", "LEFT", "RIGHT"), List.of("LRANGE", "l", "0", "-1"), List.of("LMOVE", "l", "l2", "UP", "LEFT"),
            List.of("RPOPLPUSH", "nol", "l"), List.of("RPOPLPUSH", "s", "l"), List.of("RPOPLPUSH", "l", "s"),
            List.of("COPY", "l", "l3"), List.of("LRANGE", "l3", "0", "-1"), List.of("DBSIZE"),
            List.of("SADD", "si", "3", "1", "2"), List.of("OBJECT", "ENCODING", "si"), List.of("SMEMBERS", "si"), List.of("TYPE", "si"),
            List.of("SADD", "si", "x"), List.of("OBJECT", "ENCODING", "si"), List.of("SREM", "si", "x"),
            List.of("OBJECT", "ENCODING", "si"), List.of("SPOP", "si", "-1"), List.of("SINTERCARD", "0", "si"),
            List.of("SINTERCARD", "3", "si"), List.of("SINTERCARD", "1", "si", "LIMIT", "-1"), List.of("SINTERCARD", "1", "si", "FOO", "1"),
            List.of("SINTERCARD", "1", "si", "LIMIT", "a"), List.of("ZINTERCARD", "1", "si", "LIMIT", "a"),
            List.of("MEMORY", "USAGE", "nokey"), List.of("MEMORY", "USAGE", "nokey", "SAMPLES", "x"),
            List.of("MEMORY", "USAGE", "si", "SAMPLES", "-1"), List.of("MEMORY", "USAGE", "si", "COUNT", "1"),
            List.of("MEMORY", "USAGE"), List.of("MEMORY", "FOO"), List.of("CONFIG", "GET", "zset-max-ziplist-entries"),
            List.of("CONFIG", "SET", "save", ""), List.of("CONFIG", "GET", "save"),
            List.of("SMOVE", "nos", "l", "1"), List.of("SMOVE", "si", "l", "1"), List.of("SINTER", "si", "l"),
            List.of("SINTERSTORE", "dst", "nos", "si"), List.of("EXISTS", "dst"), List.of("SUNIONSTORE", "l", "si", "nos"),
            List.of("TYPE", "l"), List.of("SMEMBERS", "l"), List.of("SRANDMEMBER", "nos"), List.of("SRANDMEMBER", "nos", "3"),
            List.of("SPOP", "nos"), List.of("SADD", "si2", "5", "-1"), List.of("SRANDMEMBER", "si2", "-9223372036854775808"),
            List.of("SINTERCARD", "a", "si2"), List.of("HINCRBYFLOAT", "hinf", "f", "+inf"), List.of("EXISTS", "hinf"), List.of("SSCAN", "si2", "0"), List.of("SCARD", "si"),
            List.of("ZADD", "zz", "1", "a", "2", "b", "2.5", "c"), List.of("ZADD", "zz", "NX", "XX", "1", "a"),
            List.of("ZADD", "zz", "GT", "LT", "1", "a"), List.of("ZADD", "zz", "INCR", "1", "a", "2", "b"),
            List.of("ZADD", "zz", "1", "a", "2"), List.of("ZADD", "zz", "nan", "a"), List.of("ZADD", "zz", "inf", "x"),
            List.of("ZADD", "zz", "INCR", "-inf", "x"), List.of("ZINCRBY", "zz", "1e308", "c"), List.of("ZINCRBY", "zz", "1e308", "c"),
            List.of("ZSCORE", "zz", "c"), List.of("ZRANGE", "zz", "0", "-1", "WITHSCORES"),
            List.of("ZRANGE", "zz", "0", "1", "LIMIT", "0", "1"), List.of("ZRANGE", "zz", "-", "+", "BYLEX", "WITHSCORES"),
            List.of("ZRANGE", "zz", "(1", "x", "BYSCORE"), List.of("ZRANGE", "zz", "a", "+", "BYLEX"),
            List.of("ZRANGEBYSCORE", "zz", "-inf", "+inf", "WITHSCORES", "LIMIT", "1", "-1"),
            List.of("ZREVRANGEBYSCORE", "zz", "+inf", "(1", "LIMIT", "-1", "2"), List.of("ZREVRANGE", "zz", "0", "0", "WITHSCORES"),
            List.of("ZRANGE", "zz", "0", "-1", "REV", "BYSCORE"), List.of("ZPOPMIN", "zz", "-1"), List.of("ZPOPMAX", "zz"),
            List.of("OBJECT", "ENCODING", "zz"), List.of("TYPE", "zz"), List.of("ZADD", "zz", "1", "y".repeat(65)),
            List.of("OBJECT", "ENCODING", "zz"), List.of("COPY", "zz", "zz2"), List.of("ZRANGE", "zz2", "0", "-1"),
            List.of("ZREMRANGEBYSCORE", "zz2", "-inf", "(2"), List.of("ZREMRANGEBYRANK", "zz2", "0", "-1"), List.of("EXISTS", "zz2"),
            List.of("ZCOUNT", "zz", "1", "nope"), List.of("ZLEXCOUNT", "zz", "a", "b"), List.of("ZRANK", "zz", "nope"),
            List.of("CONFIG", "SET", "hash-max-ziplist-entries", "0"), List.of("HSET", "ch", "f", "v"),
            List.of("OBJECT", "ENCODING", "ch"), List.of("CONFIG", "GET", "hash-max-listpack-entries"),
            List.of("CONFIG", "SET", "zset-max-ziplist-entries", "0", "set-max-intset-entries", "0"),
            List.of("ZADD", "cz", "1", "a"), List.of("OBJECT", "ENCODING", "cz"), List.of("SADD", "cs", "1"),
            List.of("OBJECT", "ENCODING", "cs"), List.of("CONFIG", "SET", "foo", "1"),
            List.of("CONFIG", "SET", "hash-max-ziplist-entries", "abc"), List.of("CONFIG", "SET", "hash-max-ziplist-entries"),
            List.of("CONFIG", "SET", "hash-max-ziplist-entries", "128", "zset-max-ziplist-entries", "128",
                    "set-max-intset-entries", "512"), List.of("CONFIG", "GET", "set-max-intset-entries"),
            // Sorted set algebra: inputs of both kinds, weights, aggregates, errors, a STORE over another type and
            // an empty result deleting the destination.
            List.of("ZADD", "za", "1", "a", "2", "b", "3", "c"), List.of("ZADD", "zb", "0.1", "a", "0.2", "b", "10", "d"),
            List.of("ZADD", "zc", "0.3", "a", "5", "e"), List.of("SADD", "zs", "a", "d", "x"), List.of("SET", "zstr", "v"),
            List.of("ZUNION", "3", "za", "zb", "zc", "WEIGHTS", "0.1", "0.2", "0.3", "WITHSCORES"),
            List.of("ZUNION", "2", "za", "zb", "AGGREGATE", "MIN", "WITHSCORES"), List.of("ZUNION", "2", "za", "zs", "WITHSCORES"),
            List.of("ZUNION", "2", "za", "zb", "WEIGHTS", "inf", "-inf", "WITHSCORES"), List.of("ZUNION", "2", "za", "zstr"),
            List.of("ZUNION", "2", "zstr", "za", "FOO"), List.of("ZUNION", "0", "za"), List.of("ZUNION", "x", "za"),
            List.of("ZUNION", "3", "za", "zb"), List.of("ZUNION", "2", "za", "zb", "WEIGHTS", "1"),
            List.of("ZUNION", "2", "za", "zb", "WEIGHTS", "1", "x"), List.of("ZUNION", "2", "za", "zb", "AGGREGATE", "avg"),
            List.of("ZINTER", "3", "zc", "zb", "za", "WITHSCORES"), List.of("ZINTER", "2", "za", "za", "WEIGHTS", "2", "3", "WITHSCORES"),
            List.of("ZINTER", "2", "za", "zb", "AGGREGATE", "MAX", "WEIGHTS", "2", "-1", "WITHSCORES"), List.of("ZINTER", "2", "za", "nokey"),
            List.of("ZDIFF", "2", "za", "zs", "WITHSCORES"), List.of("ZDIFF", "2", "za", "za"), List.of("ZDIFF", "2", "za", "zb", "WEIGHTS", "1", "1"),
            List.of("ZINTERCARD", "2", "za", "zb", "LIMIT", "1"), List.of("ZINTERCARD", "2", "za", "zb", "LIMIT", "-1"),
            List.of("ZINTERCARD", "2", "za", "zb", "LIMIT", "x"), List.of("ZINTERCARD", "0", "za"),
            List.of("ZINTERCARD", "2", "za", "zb", "WITHSCORES"), List.of("SET", "zd", "x", "EX", "100"),
            List.of("ZUNIONSTORE", "zd", "2", "za", "zb", "WEIGHTS", "2", "2"), List.of("TTL", "zd"), List.of("TYPE", "zd"),
            List.of("OBJECT", "ENCODING", "zd"), List.of("ZRANGE", "zd", "0", "-1", "WITHSCORES"),
            List.of("ZUNIONSTORE", "zd", "2", "za", "zb", "WITHSCORES"), List.of("ZINTERSTORE", "zd", "2", "za", "nokey"),
            List.of("EXISTS", "zd"), List.of("ZDIFFSTORE", "zd", "2", "za", "zb"), List.of("ZRANGE", "zd", "0", "-1", "WITHSCORES"),
            List.of("ZDIFFSTORE", "zd", "2", "za", "za"), List.of("EXISTS", "zd"), List.of("ZUNIONSTORE", "zd", "1", "zstr"),
            List.of("ZADD", "zlong", "1", "y".repeat(65)), List.of("ZUNIONSTORE", "zd", "2", "zlong", "zb"),
            List.of("OBJECT", "ENCODING", "zd"), List.of("SADD", "zis", "1", "2"), List.of("ZUNIONSTORE", "zd", "1", "zis"),
            List.of("OBJECT", "ENCODING", "zd"), List.of("ZADD", "zneg", "-0.0", "a"), List.of("ZSCORE", "zneg", "a"),
            List.of("ZINCRBY", "zneg", "-0.0", "b"),
            // ZRANGESTORE, ZSCAN, ZRANDMEMBER, ZMPOP and LMPOP.
            List.of("ZRANGESTORE", "zd", "za", "(1", "3", "BYSCORE", "REV", "LIMIT", "0", "1"), List.of("ZRANGE", "zd", "0", "-1", "WITHSCORES"),
            List.of("ZRANGESTORE", "zd", "za", "0", "-1", "WITHSCORES"), List.of("ZRANGESTORE", "zd", "za", "0", "-1", "LIMIT", "0", "1"),
            List.of("ZRANGE", "za", "0", "1", "LIMIT", "0", "-1"), List.of("ZRANGESTORE", "zd", "za", "10", "20"), List.of("EXISTS", "zd"),
            List.of("ZRANGESTORE", "zd", "zstr", "0", "-1"), List.of("ZRANGESTORE", "zstr", "za", "[b", "+", "BYLEX"), List.of("TYPE", "zstr"),
            List.of("ZADD", "zf", "1e18", "a", "1.5", "c", "4611686018427387904", "d", "9e18", "e", "inf", "f"), List.of("ZSCAN", "zf", "0"),
            List.of("ZSCAN", "zf", "0", "MATCH", "a*"), List.of("ZSCAN", "nokey", "0", "FOO"), List.of("ZSCAN", "zs", "0"),
            List.of("ZSCAN", "zf", "x"), List.of("ZSCAN", "zf", "0", "COUNT", "0"), List.of("ZRANDMEMBER", "nokey"),
            List.of("ZRANDMEMBER", "nokey", "3", "WITHSCORES"), List.of("ZRANDMEMBER", "zs", "1"), List.of("ZRANDMEMBER", "zf", "0"),
            List.of("ZRANDMEMBER", "zf", "5", "WITHSCORE"), List.of("ZRANDMEMBER", "zf", "x"),
            List.of("ZRANDMEMBER", "zf", "-9223372036854775808"), List.of("ZRANDMEMBER", "zf", "9223372036854775807", "WITHSCORES"),
            List.of("ZMPOP", "1", "za", "MIN"), List.of("ZMPOP", "2", "nokey", "za", "MAX", "COUNT", "10"), List.of("EXISTS", "za"),
            List.of("ZMPOP", "2", "nokey", "za", "MIN"), List.of("ZMPOP", "2", "zs", "zb", "MIN"), List.of("ZMPOP", "0", "zb", "MIN"),
            List.of("ZMPOP", "5", "zb", "MIN"), List.of("ZMPOP", "1", "zb", "MID"), List.of("ZMPOP", "1", "zb", "MIN", "COUNT", "0"),
            List.of("ZMPOP", "1", "zb", "MIN", "COUNT", "1", "COUNT", "1"), List.of("LMPOP", "1", "nol", "LEFT"),
            List.of("RPUSH", "lm", "a", "b", "c", "d"), List.of("LMPOP", "1", "lm", "RIGHT", "COUNT", "3"),
            List.of("LMPOP", "2", "nol", "lm", "LEFT", "COUNT", "5"), List.of("EXISTS", "lm"), List.of("LMPOP", "2", "zstr", "lm", "LEFT"),
            List.of("LMPOP", "1", "lm", "UP"), List.of("LMPOP", "1", "lm", "LEFT", "COUNT", "-1"), List.of("LMPOP", "1", "lm"),
            List.of("BLMPOP", "0", "1", "nol", "LEFT", "COUNT", "0"), List.of("BLMPOP", "x", "1", "nol", "LEFT"),
            List.of("BZMPOP", "0", "1", "nol", "MID"), List.of("BZPOPMIN", "nol", "-1"), List.of("BZPOPMIN", "zs", "0"));

    @Test
    void edge_cases_get_the_replies_redis_server_gives() throws Exception {
        int port = startBoth();
        try (Conn a = Conn.await(port); Conn b = Conn.await(kv.node.tcpEndpoints().get(0).port())) {
            for (List<String> c : EDGE_CASES) {
                assertEquals(escape(a.call(c)), escape(b.call(c)), c.toString());
            }
        }
    }

    /** Transactions, with a second client writing a watched key between WATCH and EXEC. */
    @Test
    void transactions_get_the_replies_redis_server_gives() throws Exception {
        int port = startBoth();
        int kvPort = kv.node.tcpEndpoints().get(0).port();
        try (Conn a1 = Conn.await(port); Conn a2 = Conn.await(port); Conn b1 = Conn.await(kvPort); Conn b2 = Conn.await(kvPort)) {
            List<List<String>> first = List.of(List.of("EXEC"), List.of("DISCARD"), List.of("MULTI"), List.of("SET", "t", "1"),
                    List.of("INCR", "t"), List.of("LPUSH", "t", "x"), List.of("MULTI"), List.of("WATCH", "t"), List.of("EXEC"),
                    List.of("GET", "t"), List.of("MULTI"), List.of("SET", "t"), List.of("NOSUCH"), List.of("SET", "t", "5"),
                    List.of("EXEC"), List.of("GET", "t"), List.of("MULTI"), List.of("SET", "t", "6"), List.of("DISCARD"),
                    List.of("GET", "t"), List.of("WATCH", "t", "nokey"), List.of("MULTI"), List.of("GET", "t"));
            for (List<String> c : first) {
                assertEquals(escape(a1.call(c)), escape(b1.call(c)), "first client " + c);
            }
            // The second client changes the watched key: the first client's EXEC runs nothing.
            assertEquals(escape(a2.call(List.of("SET", "t", "7"))), escape(b2.call(List.of("SET", "t", "7"))));
            for (List<String> c : List.of(List.of("EXEC"), List.of("GET", "t"), List.of("WATCH", "nokey"),
                    List.of("MULTI"), List.of("PING"), List.of("EXEC"))) {
                assertEquals(escape(a1.call(c)), escape(b1.call(c)), "first client " + c);
            }
            // A watched key that appears aborts too; UNWATCH forgets it.
            assertEquals(escape(a1.call(List.of("WATCH", "appears"))), escape(b1.call(List.of("WATCH", "appears"))));
            assertEquals(escape(a2.call(List.of("SET", "appears", "1"))), escape(b2.call(List.of("SET", "appears", "1"))));
            for (List<String> c : List.of(List.of("MULTI"), List.of("INCR", "appears"), List.of("EXEC"),
                    List.of("WATCH", "appears"), List.of("UNWATCH"), List.of("MULTI"), List.of("INCR", "appears"), List.of("EXEC"))) {
                if (c.get(0).equals("UNWATCH")) {
                    assertEquals(escape(a2.call(List.of("SET", "appears", "9"))), escape(b2.call(List.of("SET", "appears", "9"))));
                }
                assertEquals(escape(a1.call(c)), escape(b1.call(c)), "first client " + c);
            }
        }
    }

    /** Blocking pops: served by another client's push, in the order clients blocked, or nil at their timeout. */
    @Test
    void blocking_pops_get_the_replies_redis_server_gives() throws Exception {
        int port = startBoth();
        int kvPort = kv.node.tcpEndpoints().get(0).port();
        try (Conn a1 = Conn.await(port); Conn a2 = Conn.await(port); Conn a3 = Conn.await(port);
             Conn b1 = Conn.await(kvPort); Conn b2 = Conn.await(kvPort); Conn b3 = Conn.await(kvPort)) {
            Conn[][] pairs = {{a1, b1}, {a2, b2}, {a3, b3}};
            // Two clients block on the same key, then a push of two elements serves both, first come first served.
            for (Conn[] p : new Conn[][] {pairs[0], pairs[1]}) {
                p[0].send(List.of("BLPOP", "q", "other", "0"));
                p[1].send(List.of("BLPOP", "q", "other", "0"));
            }
            Thread.sleep(200);
            assertEquals(escape(a3.call(List.of("RPUSH", "q", "one", "two"))), escape(b3.call(List.of("RPUSH", "q", "one", "two"))));
            assertEquals(escape(a1.read()), escape(b1.read()), "the first client blocked gets the first element");
            assertEquals(escape(a2.read()), escape(b2.read()));
            // A timeout answers nil; the client's next command waited behind it.
            a1.send(List.of("BRPOP", "empty", "0.2"));
            b1.send(List.of("BRPOP", "empty", "0.2"));
            a1.send(List.of("PING"));
            b1.send(List.of("PING"));
            assertEquals(escape(a1.read()), escape(b1.read()), "nil at the timeout");
            assertEquals(escape(a1.read()), escape(b1.read()));
            // BLMOVE, served by a push; errors; inside MULTI nothing blocks.
            a2.send(List.of("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"));
            b2.send(List.of("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"));
            Thread.sleep(200);
            assertEquals(escape(a3.call(List.of("LPUSH", "src", "m"))), escape(b3.call(List.of("LPUSH", "src", "m"))));
            assertEquals(escape(a2.read()), escape(b2.read()));
            for (List<String> c : List.of(List.of("LRANGE", "dst", "0", "-1"), List.of("BLPOP", "q", "-1"),
                    List.of("BLPOP", "q", "abc"), List.of("SET", "str", "x"), List.of("BLPOP", "str", "0"),
                    List.of("MULTI"), List.of("BLPOP", "empty", "0"), List.of("BLMOVE", "empty", "dst", "LEFT", "LEFT", "0"),
                    List.of("EXEC"), List.of("BRPOPLPUSH", "dst", "dst2", "0"), List.of("LRANGE", "dst2", "0", "-1"),
                    List.of("RPUSH", "first", "x"), List.of("BLPOP", "first", "str", "0"), List.of("BLPOP", "str", "first", "0"),
                    List.of("MULTI"), List.of("BZPOPMIN", "empty", "0"), List.of("BZMPOP", "0", "1", "empty", "MIN"),
                    List.of("BLMPOP", "0", "1", "empty", "LEFT"), List.of("EXEC"))) {
                assertEquals(escape(a3.call(c)), escape(b3.call(c)), c.toString());
            }
        }
    }

    /** Sorted set and multi-element pops that block: served by ZADD (a push for BLMPOP) in blocking order, or timing out. */
    @Test
    void blocking_sorted_set_and_mpop_pops_get_the_replies_redis_server_gives() throws Exception {
        int port = startBoth();
        int kvPort = kv.node.tcpEndpoints().get(0).port();
        try (Conn a1 = Conn.await(port); Conn a2 = Conn.await(port); Conn a3 = Conn.await(port);
             Conn b1 = Conn.await(kvPort); Conn b2 = Conn.await(kvPort); Conn b3 = Conn.await(kvPort)) {
            // BZPOPMIN blocked first takes the lowest member, BZMPOP after it the two highest left.
            a1.send(List.of("BZPOPMIN", "zq", "0"));
            b1.send(List.of("BZPOPMIN", "zq", "0"));
            Thread.sleep(200);
            a2.send(List.of("BZMPOP", "0", "2", "other", "zq", "MAX", "COUNT", "2"));
            b2.send(List.of("BZMPOP", "0", "2", "other", "zq", "MAX", "COUNT", "2"));
            Thread.sleep(200);
            // A list pushed onto the key does not serve sorted set pops.
            List<String> push = List.of("RPUSH", "other", "x");
            assertEquals(escape(a3.call(push)), escape(b3.call(push)));
            List<String> zadd = List.of("ZADD", "zq", "1", "a", "2", "b", "3", "c", "4", "d");
            assertEquals(escape(a3.call(zadd)), escape(b3.call(zadd)));
            assertEquals(escape(a1.read()), escape(b1.read()), "the first client blocked gets the lowest member");
            assertEquals(escape(a2.read()), escape(b2.read()));
            // BLMPOP served by a push, right side with a count; a ZUNIONSTORE serves BZPOPMAX.
            a1.send(List.of("BLMPOP", "0", "1", "lq", "RIGHT", "COUNT", "2"));
            b1.send(List.of("BLMPOP", "0", "1", "lq", "RIGHT", "COUNT", "2"));
            a2.send(List.of("BZPOPMAX", "zdst", "0"));
            b2.send(List.of("BZPOPMAX", "zdst", "0"));
            Thread.sleep(200);
            for (List<String> c : List.of(List.of("RPUSH", "lq", "e1", "e2", "e3"), List.of("ZUNIONSTORE", "zdst", "1", "zq"))) {
                assertEquals(escape(a3.call(c)), escape(b3.call(c)), c.toString());
            }
            assertEquals(escape(a1.read()), escape(b1.read()));
            assertEquals(escape(a2.read()), escape(b2.read()));
            // Timeouts answer a null array; the next command waited behind them.
            for (List<String> c : List.of(List.of("BZPOPMAX", "nokey", "0.1"), List.of("BZMPOP", "0.1", "1", "nokey", "MIN"),
                    List.of("BLMPOP", "0.1", "1", "nokey", "LEFT"), List.of("BLMOVE", "nokey", "d", "LEFT", "LEFT", "0.1"))) {
                a1.send(c);
                b1.send(c);
                a1.send(List.of("PING"));
                b1.send(List.of("PING"));
                assertEquals(escape(a1.read()), escape(b1.read()), "timeout of " + c);
                assertEquals(escape(a1.read()), escape(b1.read()));
            }
            for (List<String> c : List.of(List.of("ZRANGE", "zq", "0", "-1", "WITHSCORES"), List.of("LRANGE", "lq", "0", "-1"),
                    List.of("EXISTS", "zdst"))) {
                assertEquals(escape(a3.call(c)), escape(b3.call(c)), c.toString());
            }
        }
    }

    @Test
    void random_command_sequences_get_the_replies_redis_server_gives() throws Exception {
        int port = startBoth();
        try (Conn a = Conn.await(port); Conn b = Conn.await(kv.node.tcpEndpoints().get(0).port())) {
            assertEquals((long) SEEDS * COMMANDS_PER_SEED, compareRandomSequences(a, b::pipeline));
        }
    }

    /**
     * The same seeds and commands against the kv guest on a {@link GuestMachine} fed frames directly, with no gateway,
     * sequencer, log or network: a difference that shows here and through the pipeline is the guest's, one that shows
     * only through the pipeline is the pipeline's.
     */
    @Test
    void random_sequences_match_redis_server_directly_on_the_machine() throws Exception {
        int port = startRedis();
        try (Conn a = Conn.await(port); MachineTarget b = new MachineTarget()) {
            assertEquals((long) SEEDS * COMMANDS_PER_SEED, compareRandomSequences(a, b));
        }
    }

    /** The edge cases against the kv guest on a machine fed frames directly. */
    @Test
    void edge_cases_match_redis_server_directly_on_the_machine() throws Exception {
        int port = startRedis();
        try (Conn a = Conn.await(port); MachineTarget b = new MachineTarget()) {
            for (List<String> c : EDGE_CASES) {
                assertEquals(escape(a.call(c)), escape(b.pipeline(List.of(c)).get(0)), c.toString());
            }
        }
    }

    /** Where a command batch goes: pipelined as one write, one raw reply per command, in order. */
    @FunctionalInterface
    interface Target {
        List<String> pipeline(List<List<String>> commands) throws Exception;
    }

    /**
     * Sends seeds 1..{@link #SEEDS} of the generator to redis-server and to {@code kv} (each flushed before a seed), and
     * fails at the first reply that differs, naming the seed and command; returns how many replies were compared.
     */
    private static long compareRandomSequences(Conn redis, Target kv) throws Exception {
        long compared = 0;
        for (int seed = 1; seed <= SEEDS; seed++) {
            redis.call(List.of("FLUSHALL"));
            kv.pipeline(List.of(List.of("FLUSHALL")));
            Generator g = new Generator(seed);
            for (int i = 0; i < COMMANDS_PER_SEED; ) {
                int pipelined = g.r.nextInt(10) == 0 ? 2 + g.r.nextInt(8) : 1;
                List<List<String>> batch = new ArrayList<>();
                for (int p = 0; p < pipelined && i < COMMANDS_PER_SEED; p++, i++) {
                    batch.add(g.next());
                }
                List<String> want = redis.pipeline(batch);
                List<String> got;
                try {
                    got = kv.pipeline(batch);
                } catch (Exception | AssertionError e) {
                    // A missing reply (a timeout, or the machine's frame bound) names what was waited for.
                    got = fail("seed " + seed + ", commands " + (i - batch.size() + 1) + ".." + i + " " + batch
                            + ": no reply from kv: " + e, e);
                }
                for (int c = 0; c < batch.size(); c++) {
                    compared++;
                    String expected = Generator.shapeOnly(batch.get(c)) ? shape(want.get(c)) : want.get(c);
                    String actual = Generator.shapeOnly(batch.get(c)) ? shape(got.get(c)) : got.get(c);
                    if (Generator.unordered(batch.get(c))) {
                        expected = sortedArray(expected);
                        actual = sortedArray(actual);
                    }
                    if (Generator.randomPick(batch.get(c))) {
                        expected = expected.split("\r\n")[0];
                        actual = actual.split("\r\n")[0];
                    }
                    if (!expected.equals(actual)) {
                        fail("seed " + seed + ", command " + (i - batch.size() + c + 1) + " " + batch.get(c)
                                + ":\n  redis-server: " + escape(want.get(c)) + "\n  kv:           " + escape(got.get(c)));
                    }
                }
            }
        }
        return compared;
    }

    /** A reply with its numbers replaced, for replies that carry times. */
    private static String shape(String reply) {
        return reply.replaceAll(":-?[0-9]+\r\n", ":N\r\n");
    }

    /** A flat array reply with its elements sorted (KEYS lists in table order). */
    private static String sortedArray(String reply) {
        if (!reply.startsWith("*")) {
            return reply;
        }
        String[] lines = reply.split("\r\n");
        TreeSet<String> items = new TreeSet<>();
        for (int i = 1; i + 1 < lines.length; i += 2) {
            items.add(lines[i] + "\r\n" + lines[i + 1]);
        }
        return lines[0] + "\r\n" + String.join("\r\n", items);
    }

    private static String escape(String s) {
        return s.replace("\r", "\\r").replace("\n", "\\n");
    }

    /** The random commands: a few keys so commands meet, values that are numbers, floats, text and bytes. */
    static final class Generator {
        final SplittableRandom r;

        Generator(long seed) {
            r = new SplittableRandom(seed);
        }

        private String key() {
            return "k" + r.nextInt(6);
        }

        private String value() {
            return switch (r.nextInt(8)) {
                case 0 -> Integer.toString(r.nextInt(200) - 100);
                case 1 -> Long.toString(Long.MAX_VALUE - r.nextInt(3));
                case 2 -> (r.nextInt(2000) - 1000) / 10.0 + "";
                case 3 -> "";
                case 4 -> "hello world";
                case 5 -> "x".repeat(r.nextInt(60));
                case 6 -> "ab\u0001\u00ffcd";
                default -> "v" + r.nextInt(1000);
            };
        }

        private String index() {
            return Integer.toString(r.nextInt(40) - 20);
        }

        private String small() {
            return Integer.toString(r.nextInt(100));
        }

        private String hkey() {
            return r.nextInt(4) == 0 ? key() : "h" + r.nextInt(3);
        }

        private String field() {
            return "f" + r.nextInt(8);
        }

        /** Hash commands, on hash keys mostly and string keys sometimes (WRONGTYPE both ways). */
        private List<String> hash() {
            String h = hkey();
            return switch (r.nextInt(16)) {
                case 0, 1 -> List.of("HSET", h, field(), value());
                case 2 -> List.of("HSET", h, field(), value(), field(), value());
                case 3 -> List.of("HMSET", h, field(), value());
                case 4 -> List.of("HSETNX", h, field(), value());
                case 5 -> List.of("HGET", h, field());
                case 6 -> List.of("HMGET", h, field(), field());
                case 7 -> List.of("HDEL", h, field(), field());
                case 8 -> List.of("HEXISTS", h, field());
                case 9 -> List.of("HLEN", h);
                case 10 -> List.of("HSTRLEN", h, field());
                case 11 -> List.of("HKEYS", h);
                case 12 -> List.of("HVALS", h);
                case 13 -> List.of("HGETALL", h);
                case 14 -> List.of("HINCRBY", h, field(), r.nextBoolean() ? "9223372036854775807" : small());
                default -> List.of("HINCRBYFLOAT", h, field(), (r.nextInt(200) - 100) / 4.0 + "");
            };
        }

        private String lkey() {
            return r.nextInt(5) == 0 ? (r.nextBoolean() ? key() : "h" + r.nextInt(3)) : "l" + r.nextInt(3);
        }

        private String elem() {
            return r.nextInt(4) == 0 ? value() : "e" + r.nextInt(5);
        }

        private String side() {
            return r.nextBoolean() ? "LEFT" : "RIGHT";
        }

        /** List commands, on list keys mostly and others sometimes. */
        private List<String> list() {
            String l = lkey();
            return switch (r.nextInt(21)) {
                case 0, 1 -> List.of("LPUSH", l, elem(), elem());
                case 2, 3 -> List.of("RPUSH", l, elem());
                case 4 -> List.of(r.nextBoolean() ? "LPUSHX" : "RPUSHX", l, elem());
                case 5 -> List.of(r.nextBoolean() ? "LPOP" : "RPOP", l);
                case 6 -> List.of(r.nextBoolean() ? "LPOP" : "RPOP", l, Integer.toString(r.nextInt(4) - 1));
                case 7 -> List.of("LLEN", l);
                case 8, 9 -> List.of("LRANGE", l, index(), index());
                case 10 -> List.of("LINDEX", l, Integer.toString(r.nextInt(10) - 5));
                case 11 -> List.of("LSET", l, Integer.toString(r.nextInt(10) - 5), elem());
                case 12 -> List.of("LINSERT", l, r.nextBoolean() ? "BEFORE" : "AFTER", elem(), elem());
                case 13 -> List.of("LREM", l, Integer.toString(r.nextInt(5) - 2), elem());
                case 14 -> List.of("LTRIM", l, index(), index());
                case 15 -> List.of("LPOS", l, elem());
                case 16 -> List.of("LPOS", l, elem(), "RANK", Integer.toString(r.nextInt(5) - 2), "COUNT",
                        Integer.toString(r.nextInt(3)), "MAXLEN", Integer.toString(r.nextInt(6)));
                case 17 -> List.of("LMOVE", l, lkey(), side(), side());
                case 18 -> List.of("RPOPLPUSH", l, lkey());
                case 19 -> r.nextInt(4) == 0 ? List.of("BLMPOP", "0.01", "2", l, lkey(), side(), "COUNT", "2")
                        : List.of("LMPOP", "2", l, lkey(), side(), "COUNT", Integer.toString(1 + r.nextInt(3))).subList(0, 5 + 2 * r.nextInt(2));
                default -> List.of("LRANGE", l, "0", "-1");
            };
        }

        private String skey() {
            return r.nextInt(6) == 0 ? (r.nextBoolean() ? key() : "l" + r.nextInt(3)) : "s" + r.nextInt(3);
        }

        private String member() {
            return r.nextInt(3) == 0 ? "m" + r.nextInt(6) : Integer.toString(r.nextInt(12) - 3);
        }

        /** Set commands, on set keys mostly; members numbers (intsets) or words. */
        private List<String> set() {
            String s = skey();
            return switch (r.nextInt(18)) {
                case 0, 1, 2 -> List.of("SADD", s, member(), member());
                case 3 -> List.of("SREM", s, member(), member());
                case 4 -> List.of("SMEMBERS", s);
                case 5 -> List.of("SISMEMBER", s, member());
                case 6 -> List.of("SMISMEMBER", s, member(), member());
                case 7 -> List.of("SCARD", s);
                case 8 -> List.of("SPOP", s, "100");
                case 9 -> List.of("SRANDMEMBER", s, Integer.toString(r.nextInt(9) - 4));
                case 10 -> List.of("SMOVE", s, skey(), member());
                case 11 -> List.of("SINTER", s, skey());
                case 12 -> List.of("SUNION", s, skey());
                case 13 -> List.of("SDIFF", s, skey(), skey());
                case 14 -> List.of(r.nextBoolean() ? "SINTERSTORE" : "SUNIONSTORE", skey(), s, skey());
                case 15 -> List.of("SDIFFSTORE", skey(), s, skey());
                case 16 -> List.of("SINTERCARD", "2", s, skey(), "LIMIT", Integer.toString(r.nextInt(3)));
                default -> List.of("OBJECT", "ENCODING", s);
            };
        }

        private String zkey() {
            return r.nextInt(6) == 0 ? (r.nextBoolean() ? key() : "s" + r.nextInt(3)) : "z" + r.nextInt(3);
        }

        private String score() {
            return switch (r.nextInt(8)) {
                case 0 -> "inf";
                case 1 -> "-inf";
                case 2 -> (r.nextInt(200) - 100) / 8.0 + "";
                case 3 -> "0.1";
                default -> Integer.toString(r.nextInt(10) - 3);
            };
        }

        private String bound() {
            return switch (r.nextInt(5)) {
                case 0 -> "-inf";
                case 1 -> "+inf";
                case 2 -> "(" + (r.nextInt(10) - 3);
                default -> Integer.toString(r.nextInt(10) - 3);
            };
        }

        private String lex() {
            return switch (r.nextInt(4)) {
                case 0 -> "-";
                case 1 -> "+";
                case 2 -> "(" + "m" + r.nextInt(6);
                default -> "[" + "m" + r.nextInt(6);
            };
        }

        /** Sorted set commands, on zset keys mostly. */
        private List<String> zset() {
            String z = zkey();
            String m = "m" + r.nextInt(6);
            return switch (r.nextInt(30)) {
                case 0, 1, 2 -> List.of("ZADD", z, score(), m, score(), "m" + r.nextInt(6));
                case 3 -> List.of("ZADD", z, r.nextBoolean() ? "NX" : "XX", r.nextBoolean() ? "GT" : "CH", score(), m);
                case 4 -> List.of("ZADD", z, "INCR", score(), m);
                case 5 -> List.of("ZINCRBY", z, score(), m);
                case 6 -> List.of("ZREM", z, m, "m" + r.nextInt(6));
                case 7 -> List.of("ZSCORE", z, m);
                case 8 -> List.of("ZMSCORE", z, m, "nope");
                case 9 -> List.of("ZCARD", z);
                case 10 -> List.of("ZCOUNT", z, bound(), bound());
                case 11 -> List.of(r.nextBoolean() ? "ZRANK" : "ZREVRANK", z, m);
                case 12 -> List.of("ZRANGE", z, index(), index(), "WITHSCORES");
                case 13 -> List.of("ZRANGE", z, bound(), bound(), "BYSCORE", "LIMIT", Integer.toString(r.nextInt(3)),
                        Integer.toString(r.nextInt(4) - 1));
                case 14 -> List.of("ZRANGE", z, bound(), bound(), "BYSCORE", "REV", "WITHSCORES");
                case 15 -> List.of(r.nextBoolean() ? "ZRANGEBYLEX" : "ZREVRANGEBYLEX", z, lex(), lex());
                case 16 -> List.of("ZLEXCOUNT", z, lex(), lex());
                case 17 -> List.of(r.nextBoolean() ? "ZPOPMIN" : "ZPOPMAX", z, Integer.toString(r.nextInt(3)));
                case 18 -> List.of(r.nextBoolean() ? "ZREMRANGEBYRANK" : "ZREVRANGE", z, index(), index());
                case 19 -> List.of("ZREMRANGEBYSCORE", z, bound(), bound());
                case 20, 21 -> algebra(z);
                case 22 -> List.of(r.nextBoolean() ? "ZUNIONSTORE" : "ZINTERSTORE", zkey(), "2", z, zkey(), "WEIGHTS", weight(),
                        weight(), "AGGREGATE", aggregate()).subList(0, List.of(5, 8, 10).get(r.nextInt(3)));
                case 23 -> List.of("ZDIFFSTORE", zkey(), "2", z, zkey());
                case 24 -> List.of("ZINTERCARD", "2", z, zkey(), "LIMIT", Integer.toString(r.nextInt(3))).subList(0, 4 + 2 * r.nextInt(2));
                case 25 -> r.nextBoolean() ? List.of("ZRANGESTORE", zkey(), z, index(), index())
                        : List.of("ZRANGESTORE", zkey(), z, bound(), bound(), "BYSCORE", "LIMIT", "0", Integer.toString(r.nextInt(4) - 1));
                case 26 -> List.of("ZSCAN", z, "0", "MATCH", r.nextBoolean() ? "m[0-2]" : "*").subList(0, 3 + 2 * r.nextInt(2));
                case 27 -> List.of("ZRANDMEMBER", z, Integer.toString(r.nextInt(9) - 4), "WITHSCORES").subList(0, 3 + r.nextInt(2));
                case 28 -> List.of("ZMPOP", "2", z, zkey(), r.nextBoolean() ? "MIN" : "MAX", "COUNT", Integer.toString(1 + r.nextInt(3)))
                        .subList(0, 5 + 2 * r.nextInt(2));
                default -> r.nextBoolean() ? List.of(r.nextBoolean() ? "BZPOPMIN" : "BZPOPMAX", z, zkey(), "0.01")
                        : List.of("BZMPOP", "0.01", "1", z, r.nextBoolean() ? "MIN" : "MAX", "COUNT", "2");
            };
        }

        private String weight() {
            return switch (r.nextInt(5)) {
                case 0 -> "0.5";
                case 1 -> "inf";
                default -> Integer.toString(r.nextInt(5) - 2);
            };
        }

        private String aggregate() {
            return switch (r.nextInt(3)) {
                case 0 -> "SUM";
                case 1 -> "MIN";
                default -> "MAX";
            };
        }

        /** ZUNION, ZINTER or ZDIFF of two inputs (sets and other types among them), with options. */
        private List<String> algebra(String z) {
            List<String> c = new ArrayList<>(List.of(List.of("ZUNION", "ZINTER", "ZDIFF").get(r.nextInt(3)), "2", z, zkey()));
            if (!c.get(0).equals("ZDIFF") && r.nextBoolean()) {
                c.addAll(List.of("WEIGHTS", weight(), weight()));
            }
            if (!c.get(0).equals("ZDIFF") && r.nextBoolean()) {
                c.addAll(List.of("AGGREGATE", aggregate()));
            }
            if (r.nextBoolean()) {
                c.add("WITHSCORES");
            }
            return c;
        }

        List<String> next() {
            String k = key();
            if (r.nextInt(4) == 0) {
                return zset();
            }
            if (r.nextInt(4) == 0) {
                return set();
            }
            if (r.nextInt(4) == 0) {
                return list();
            }
            if (r.nextInt(3) == 0) {
                return hash();
            }
            if (r.nextInt(10) == 0) {
                // A string command on a key that may hold a hash.
                k = "h" + r.nextInt(3);
            }
            return switch (r.nextInt(41)) {
                case 0 -> List.of("GET", k);
                case 1 -> List.of("SET", k, value());
                case 2 -> List.of("SET", k, value(), r.nextBoolean() ? "NX" : "XX");
                case 3 -> List.of("SET", k, value(), "GET");
                case 4 -> List.of("SET", k, value(), "EX", Integer.toString(100 + r.nextInt(1000)));
                case 5 -> List.of("SETNX", k, value());
                case 6 -> List.of("GETSET", k, value());
                case 7 -> List.of("GETDEL", k);
                case 8 -> List.of("GETEX", k, r.nextBoolean() ? "PERSIST" : "EX", "1000").subList(0, r.nextBoolean() ? 3 : 4);
                case 9 -> List.of("MSET", k, value(), key(), value());
                case 10 -> List.of("MSETNX", k, value(), key(), value());
                case 11 -> List.of("MGET", k, key(), key());
                case 12 -> List.of("INCR", k);
                case 13 -> List.of("DECRBY", k, Integer.toString(r.nextInt(50)));
                case 14 -> List.of("INCRBY", k, r.nextBoolean() ? "9223372036854775807" : small());
                case 15 -> List.of("INCRBYFLOAT", k, r.nextBoolean() ? "1.5" : (r.nextInt(200) - 100) / 4.0 + "");
                case 16 -> List.of("APPEND", k, value());
                case 17 -> List.of("STRLEN", k);
                case 18 -> List.of("GETRANGE", k, index(), index());
                case 19 -> List.of("SETRANGE", k, small(), value());
                case 20 -> List.of("GETBIT", k, Integer.toString(r.nextInt(300)));
                case 21 -> List.of("SETBIT", k, Integer.toString(r.nextInt(300)), Integer.toString(r.nextInt(2)));
                case 22 -> List.of("BITCOUNT", k);
                case 23 -> List.of("BITCOUNT", k, index(), index(), r.nextBoolean() ? "BIT" : "BYTE");
                case 24 -> List.of("BITPOS", k, Integer.toString(r.nextInt(2)));
                case 25 -> List.of("BITPOS", k, Integer.toString(r.nextInt(2)), index(), index(), r.nextBoolean() ? "BIT" : "BYTE")
                        .subList(0, 3 + r.nextInt(4));
                case 26 -> List.of("LCS", k, key());
                case 27 -> List.of("LCS", k, key(), r.nextBoolean() ? "LEN" : "IDX");
                case 28 -> List.of("DEL", k, key());
                case 29 -> List.of("EXISTS", k, key());
                case 30 -> List.of("TYPE", k);
                case 31 -> List.of("RENAME", k, key());
                case 32 -> List.of("RENAMENX", k, key());
                case 33 -> List.of("COPY", k, key(), "REPLACE").subList(0, r.nextBoolean() ? 3 : 4);
                case 34 -> List.of("EXPIRE", k, Integer.toString(100 + r.nextInt(1000)));
                case 35 -> List.of("TTL", k);
                case 36 -> List.of("PERSIST", k);
                case 37 -> List.of("EXPIRETIME", k);
                case 38 -> List.of("DBSIZE");
                case 39 -> List.of("OBJECT", "ENCODING", k);
                default -> List.of("KEYS", "*");
            };
        }

        /** Commands whose numbers are times: compared by shape. */
        static boolean shapeOnly(List<String> command) {
            String c = command.get(0).toUpperCase(java.util.Locale.ROOT);
            return c.equals("TTL") || c.equals("EXPIRETIME");
        }

        /** Commands that answer a set of members, in an order redis-server does not fix (dict order). */
        static boolean unordered(List<String> command) {
            String c = command.get(0).toUpperCase(java.util.Locale.ROOT);
            return c.equals("KEYS") || c.equals("SMEMBERS") || c.equals("SINTER") || c.equals("SUNION") || c.equals("SDIFF")
                    || c.equals("SPOP");
        }

        /** Commands that answer random members: only how many is compared. */
        static boolean randomPick(List<String> command) {
            return command.get(0).equalsIgnoreCase("SRANDMEMBER") || command.get(0).equalsIgnoreCase("ZRANDMEMBER");
        }
    }

    /** A RESP connection that sends commands as multibulk and reads whole replies as raw text. */
    static final class Conn implements AutoCloseable {
        private final Socket socket;
        private final OutputStream out;
        private final InputStream in;

        private Conn(Socket socket) throws IOException {
            this.socket = socket;
            socket.setSoTimeout(20_000);
            this.out = socket.getOutputStream();
            this.in = new BufferedInputStream(socket.getInputStream());
        }

        /** Connects, retrying (bounded) while the server starts. */
        static Conn await(int port) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                try {
                    return new Conn(new Socket(InetAddress.getLoopbackAddress(), port));
                } catch (IOException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    Thread.sleep(50);
                }
            }
        }

        String call(List<String> command) throws IOException {
            return pipeline(List.of(command)).get(0);
        }

        /** Sends a command without waiting for its reply (a blocking one). */
        void send(List<String> command) throws IOException {
            out.write(encode(List.of(command)));
            out.flush();
        }

        /** Reads one reply. */
        String read() throws IOException {
            ByteArrayOutputStream reply = new ByteArrayOutputStream();
            readReply(in, reply);
            return reply.toString(StandardCharsets.ISO_8859_1);
        }

        List<String> pipeline(List<List<String>> commands) throws IOException {
            out.write(encode(commands));
            out.flush();
            List<String> replies = new ArrayList<>();
            for (int i = 0; i < commands.size(); i++) {
                ByteArrayOutputStream reply = new ByteArrayOutputStream();
                readReply(in, reply);
                replies.add(reply.toString(StandardCharsets.ISO_8859_1));
            }
            return replies;
        }

        /** Commands as multibulk requests, back to back. */
        static byte[] encode(List<List<String>> commands) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (List<String> c : commands) {
                b.writeBytes(("*" + c.size() + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                for (String arg : c) {
                    byte[] bytes = arg.getBytes(StandardCharsets.ISO_8859_1);
                    b.writeBytes(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    b.writeBytes(bytes);
                    b.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
                }
            }
            return b.toByteArray();
        }

        /** Copies one whole reply from {@code in}; EOFException when the stream ends inside it. */
        static void readReply(InputStream in, ByteArrayOutputStream into) throws IOException {
            String line = readLine(in, into);
            char type = line.charAt(0);
            if (type == '$') {
                int n = Integer.parseInt(line.substring(1));
                if (n >= 0) {
                    byte[] body = in.readNBytes(n + 2);
                    into.writeBytes(body);
                    if (body.length < n + 2) {
                        throw new EOFException("stream ended in a bulk string: " + line);
                    }
                }
            } else if (type == '*') {
                int n = Integer.parseInt(line.substring(1));
                for (int i = 0; i < n; i++) {
                    readReply(in, into);
                }
            }
        }

        private static String readLine(InputStream in, ByteArrayOutputStream into) throws IOException {
            StringBuilder s = new StringBuilder();
            int prev = -1;
            while (true) {
                int c = in.read();
                if (c < 0) {
                    throw new EOFException("connection closed in a reply: " + s);
                }
                into.write(c);
                if (prev == '\r' && c == '\n') {
                    return s.substring(0, s.length() - 1);
                }
                s.append((char) c);
                prev = c;
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /**
     * The kv guest on a {@link GuestMachine} of its own, fed frames as the sequencer would cut them from one client's
     * traffic: the client's bytes go in as Data events no further than the guest's receive window (which its Window
     * outputs reopen), and every byte it sends is granted back in the next frame, as the gateway does once the client
     * has it. Frame time moves 1 ms a frame and entropy is a function of the frame's seq, so a run is the same every
     * time; the blocking pops of the generator (timeouts of 10 ms) answer nil once frame time has passed their timeout
     * (some ten frames later), as redis-server does after 10 ms.
     */
    static final class MachineTarget implements Target, AutoCloseable {
        private static final long T0 = 1_700_000_000_000_000_000L;
        private static final long STEP_NS = 1_000_000L;
        /** Frames a batch may take: 10 s of frame time, far beyond any timeout the commands ask for. */
        private static final int MAX_FRAMES_PER_BATCH = 10_000;
        private static final long CONNECTION = 1;

        private final GuestMachine machine;
        private final List<IngressEvent> queued = new ArrayList<>();
        private final ByteArrayOutputStream received = new ByteArrayOutputStream();
        /** Bytes of {@link #received} already answered as replies. */
        private int taken;
        private long seq;
        private long credit = GuestLimits.DEFAULT.receiveBufferBytes();
        private byte[] unsent = new byte[0];
        private int unsentFrom;
        private long nextOffset;

        /** The guest as KvNode configures it (listeners resp and http, default limits), with one client connected. */
        MachineTarget() {
            machine = GuestMachine.create(GuestModule.load(TestGuests.module("kv_server"), Engine.COMPILER),
                    GuestConfig.of("kv", List.of("resp", "http")).withGenesis(new byte[] {4, 2}, T0));
            step(); // runs the guest up to its poll loop
            queued.add(new IngressEvent.Open(CONNECTION, "resp"));
            step();
        }

        /** Sends the batch as one write and applies frames until its replies are whole; fails after the frame bound. */
        @Override
        public List<String> pipeline(List<List<String>> commands) {
            if (taken != received.size()) {
                throw new AssertionError("the guest sent bytes no command asked for: "
                        + escape(received.toString(StandardCharsets.ISO_8859_1).substring(taken)));
            }
            unsent = Conn.encode(commands);
            unsentFrom = 0;
            for (int frame = 0; frame < MAX_FRAMES_PER_BATCH; frame++) {
                step();
                List<String> replies = replies(commands.size());
                if (replies != null) {
                    return replies;
                }
            }
            throw new AssertionError("no whole reply after " + MAX_FRAMES_PER_BATCH + " frames; "
                    + (unsent.length - unsentFrom) + " request bytes undelivered, the guest sent: "
                    + escape(received.toString(StandardCharsets.ISO_8859_1).substring(taken)));
        }

        /** The next {@code n} replies the guest sent, or null while they are not all whole yet. */
        private List<String> replies(int n) {
            byte[] all = received.toByteArray();
            ByteArrayInputStream in = new ByteArrayInputStream(all, taken, all.length - taken);
            List<String> replies = new ArrayList<>();
            try {
                for (int i = 0; i < n; i++) {
                    ByteArrayOutputStream reply = new ByteArrayOutputStream();
                    Conn.readReply(in, reply);
                    replies.add(reply.toString(StandardCharsets.ISO_8859_1));
                }
            } catch (IOException incomplete) {
                return null;
            }
            taken = all.length - in.available();
            return replies;
        }

        /** Applies one frame: what was queued, and as much of the request as the receive window takes. */
        private void step() {
            List<IngressEvent> events = new ArrayList<>(queued);
            queued.clear();
            int n = (int) Math.min(credit, unsent.length - unsentFrom);
            if (n > 0) {
                events.add(new IngressEvent.Data(CONNECTION, Arrays.copyOfRange(unsent, unsentFrom, unsentFrom + n)));
                unsentFrom += n;
                credit -= n;
            }
            seq++;
            byte[] entropy = {(byte) seq, (byte) (seq >>> 8), (byte) (seq >>> 16), 7};
            for (Output o : machine.apply(new Frame("kv", 1, seq, T0 + seq * STEP_NS, entropy, events))) {
                if (o instanceof Output.Send s) {
                    if (s.connection() != CONNECTION || s.offset() != nextOffset) {
                        throw new AssertionError("send on connection " + s.connection() + " at offset " + s.offset()
                                + ", expected connection " + CONNECTION + " at " + nextOffset);
                    }
                    received.writeBytes(s.bytes());
                    nextOffset += s.bytes().length;
                    queued.add(new IngressEvent.Window(CONNECTION, s.bytes().length));
                } else if (o instanceof Output.Window w) {
                    credit += w.bytes();
                } else if (o instanceof Output.Close || o instanceof Output.Reset || o instanceof Output.Stopped
                        || o instanceof Output.Recovered) {
                    throw new AssertionError("the kv guest at frame " + seq + ": " + o);
                }
                // Timer requests need no answer: every frame moves the clock, and a batch steps until its replies come.
            }
        }

        @Override
        public void close() {
            machine.close();
        }
    }
}
