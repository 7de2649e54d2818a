package io.replicode.launcher.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The checker of the cluster tests must fail on exactly what it is there to catch. */
class AppendHistoryTest {
    private static AppendHistory history() {
        AppendHistory h = new AppendHistory("w0");
        h.acked("0:1");
        h.acked("0:2");
        h.unknown("0:3");
        h.acked("0:4");
        return h;
    }

    @Test
    void a_consistent_value_passes_with_or_without_the_unknown_write() {
        assertEquals(List.of(), history().check("0:1;0:2;0:3;0:4;"));
        assertEquals(List.of(), history().check("0:1;0:2;0:4;"));
    }

    @Test
    void a_lost_acknowledged_write_fails() {
        List<String> p = history().check("0:1;0:4;");
        assertTrue(p.contains("w0: acknowledged write 0:2 is lost"), p.toString());
    }

    @Test
    void a_write_applied_twice_fails_acknowledged_or_not() {
        assertTrue(history().check("0:1;0:2;0:2;0:4;").contains("w0: write 0:2 applied 2 times"));
        assertTrue(history().check("0:1;0:2;0:3;0:3;0:4;").contains("w0: write 0:3 applied 2 times"));
    }

    @Test
    void reordered_or_invented_writes_fail() {
        assertTrue(history().check("0:2;0:1;0:4;").contains("w0: acknowledged writes are out of order"));
        assertTrue(history().check("0:1;0:2;0:9;0:4;").contains("w0: 0:9 was never written"));
        assertTrue(history().check("0:1;0:2;0:4").contains("w0: value does not end with a whole token: ...0:1;0:2;0:4"));
    }
}
