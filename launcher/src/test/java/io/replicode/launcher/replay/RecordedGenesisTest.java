package io.replicode.launcher.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.replicode.node.Genesis;
import io.replicode.replica.GuestConfig;
import io.replicode.replica.GuestLimits;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** genesis.json as the node writes it reads back into the very config the replicas ran with. */
class RecordedGenesisTest {
    @TempDir
    Path dir;

    @Test
    void genesis_written_by_the_node_reads_back_to_the_same_config_env_order_included() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("ZETA", "1");
        env.put("ALPHA", "two words");
        GuestConfig wanted = GuestConfig.of("ledger", List.of("main", "admin"))
                .withLimits(GuestLimits.DEFAULT.withFuelPerFrame(123_456_789).withMemoryPages(99))
                .withArgs(List.of("ledger", "--strict")).withEnvironment(env).withPreopens(List.of("/data", "/spool"));
        Path module = dir.resolve("ledger.wasm");
        GuestConfig recorded = Genesis.loadOrCreate(dir.resolve("ledger"), wanted, "ab".repeat(32), module, 1_700_000_000_000L);

        RecordedGenesis read = RecordedGenesis.read(dir.resolve("ledger"), "ledger");
        assertEquals(recorded, read.config());
        assertEquals(new ArrayList<>(recorded.environment().entrySet()), new ArrayList<>(read.config().environment().entrySet()),
                "the guest sees its environment in this order");
        assertEquals("ab".repeat(32), read.moduleSha256());
        assertEquals(module.toAbsolutePath().normalize(), read.modulePath());
    }

    @Test
    void a_damaged_genesis_is_a_user_error_with_a_fix() throws Exception {
        Files.createDirectories(dir.resolve("kv"));
        Files.writeString(dir.resolve("kv/genesis.json"), "{\"module\": \"x\", \"limits\": {}}");
        var e = org.junit.jupiter.api.Assertions.assertThrows(io.replicode.node.UserError.class,
                () -> RecordedGenesis.read(dir.resolve("kv"), "kv"));
        assertEquals(true, e.getMessage().contains("genesis.json is damaged"), e.getMessage());
        assertEquals(true, e.fix().contains("restore it from a backup"), e.fix());
    }
}
