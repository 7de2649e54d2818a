package io.replicode.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.node.UserError;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.GuestLimits;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenesisTest {
    @TempDir
    Path dir;

    @Test
    void first_start_creates_the_genesis_and_later_starts_reuse_it() {
        GuestConfig wanted = GuestConfig.of("kv", List.of("resp", "http"));
        GuestConfig first = Genesis.loadOrCreate(dir, wanted, "abc", 42);
        assertEquals(42, first.genesisTimeNs());
        GuestConfig again = Genesis.loadOrCreate(dir, wanted, "abc", 99);
        assertEquals(42, again.genesisTimeNs(), "genesis time is kept");
        assertArrayEquals(first.genesisSeed(), again.genesisSeed(), "seed is kept");
    }

    @Test
    void another_module_or_guest_config_is_refused_with_a_fix() {
        GuestConfig wanted = GuestConfig.of("kv", List.of("resp"));
        Genesis.loadOrCreate(dir, wanted, "abc", 1);
        UserError e = assertThrows(UserError.class, () -> Genesis.loadOrCreate(dir, wanted, "def", 1));
        assertTrue(e.getMessage().contains("module"), e.getMessage());
        UserError limits = assertThrows(UserError.class,
                () -> Genesis.loadOrCreate(dir, wanted.withLimits(GuestLimits.DEFAULT.withCallDepth(99)), "abc", 1));
        assertTrue(limits.getMessage().contains("limits"), limits.getMessage());
    }

    @Test
    void cluster_members_share_the_first_members_genesis_and_one_from_another_history_is_refused() {
        java.util.Map<String, String> cluster = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.function.UnaryOperator<String> shared = json -> {
            String had = cluster.putIfAbsent("kv", json);
            return had == null ? json : had;
        };
        GuestConfig wanted = GuestConfig.of("kv", List.of("resp"));
        GuestConfig first = Genesis.clustered(dir.resolve("m0"), wanted, "abc", null, 42, shared);
        GuestConfig second = Genesis.clustered(dir.resolve("m1"), wanted, "abc", null, 99, shared);
        assertEquals(42, second.genesisTimeNs(), "a later member adopts the cluster's genesis time");
        assertArrayEquals(first.genesisSeed(), second.genesisSeed(), "and its seed");
        assertEquals(first, Genesis.clustered(dir.resolve("m1"), wanted, "abc", null, 7, shared), "a restart keeps it");

        Genesis.loadOrCreate(dir.resolve("other"), wanted, "abc", 5);
        UserError e = assertThrows(UserError.class, () -> Genesis.clustered(dir.resolve("other"), wanted, "abc", null, 5, shared));
        assertTrue(e.getMessage().contains("genesis of another history"), e.getMessage());
        UserError module = assertThrows(UserError.class, () -> Genesis.clustered(dir.resolve("m2"), wanted, "def", null, 5, shared));
        assertTrue(module.getMessage().contains("module"), module.getMessage());
    }
}
