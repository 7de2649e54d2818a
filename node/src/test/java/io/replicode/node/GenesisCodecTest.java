package io.replicode.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.replica.GuestConfig;
import io.replicode.replica.GuestLimits;
import io.vertx.core.json.JsonObject;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** genesis.json's fields: every limit under its own name, read back into the config that was written. */
class GenesisCodecTest {
    /** Every limit different from the default and from each other, so a field written under another's name shows. */
    private static final GuestLimits DISTINCT = new GuestLimits(77, 1_234_567L, 333, 5_000_000L, 4_321, 99, 65_537,
            70_001L, 17, 2_048, 12_345L);

    @Test
    void every_limit_round_trips_under_its_component_name() {
        JsonObject json = GenesisCodec.limits(DISTINCT);
        List<String> names = Arrays.stream(GuestLimits.class.getRecordComponents()).map(RecordComponent::getName).toList();
        assertEquals(names, List.copyOf(json.fieldNames()), "one field per GuestLimits component, in its order");
        for (RecordComponent rc : GuestLimits.class.getRecordComponents()) {
            assertEquals(((Number) invoke(rc, DISTINCT)).longValue(), json.getNumber(rc.getName()).longValue(), rc.getName());
            // genesis.json files already written hold ints as ints: a later start compares them value for value.
            assertEquals(rc.getType() == int.class ? Integer.class : Long.class, json.getValue(rc.getName()).getClass(), rc.getName());
            assertEquals(rc.getType() == int.class, GuestLimits.DEFAULT.byName().get(rc.getName()) instanceof Integer, rc.getName());
        }
        assertEquals(DISTINCT, GenesisCodec.limits(new JsonObject(json.encode())));
    }

    @Test
    void a_written_genesis_reads_back_to_the_same_config() {
        GuestConfig c = GuestConfig.of("kv", List.of("resp", "http")).withLimits(DISTINCT).withArgs(List.of("kv", "-v"))
                .withPreopens(List.of("/data")).withGenesis(new byte[32], 42L);
        JsonObject g = GenesisCodec.describe(c, "ab".repeat(32)).put("seed", "00".repeat(32)).put("timeNs", 42L);
        GenesisCodec.Recorded r = GenesisCodec.read(new JsonObject(g.encode()), "kv");
        assertEquals(c, r.config());
        assertEquals("ab".repeat(32), r.moduleSha256());
        assertEquals(null, r.modulePath());
    }

    @Test
    void a_limit_too_large_for_its_field_is_named() {
        JsonObject json = GenesisCodec.limits(DISTINCT).put("callDepth", 1L << 40);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GenesisCodec.limits(json));
        assertTrue(e.getMessage().contains("limits.callDepth = 1099511627776 does not fit in 32 bits"), e.getMessage());
    }

    @Test
    void a_missing_limit_is_named() {
        JsonObject json = GenesisCodec.limits(DISTINCT);
        json.remove("listenBacklog");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GenesisCodec.limits(json));
        assertTrue(e.getMessage().contains("limits.listenBacklog is missing"), e.getMessage());
    }

    private static Object invoke(RecordComponent rc, GuestLimits l) {
        try {
            return rc.getAccessor().invoke(l);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
