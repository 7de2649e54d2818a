package io.replicode.launcher.node;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.launcher.UserError;
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
}
