package io.replicode.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import com.hazelcast.config.InMemoryFormat;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterSettingsTest {
    private static final List<String> THREE = List.of("127.0.0.1:5701", "127.0.0.1:5702", "127.0.0.1:5703");

    @Test
    void three_members_give_tcp_join_and_short_heartbeats() {
        Config c = ClusterSettings.of("127.0.0.1", 5702, THREE).toConfig();

        assertEquals("replicode", c.getClusterName());
        assertEquals(5702, c.getNetworkConfig().getPort());
        assertFalse(c.getNetworkConfig().isPortAutoIncrement());
        assertEquals(List.of("127.0.0.1"), List.copyOf(c.getNetworkConfig().getInterfaces().getInterfaces()));
        assertFalse(c.getNetworkConfig().getJoin().getMulticastConfig().isEnabled());
        assertTrue(c.getNetworkConfig().getJoin().getTcpIpConfig().isEnabled());
        assertEquals(THREE, c.getNetworkConfig().getJoin().getTcpIpConfig().getMembers());
        assertEquals("1", c.getProperty("hazelcast.heartbeat.interval.seconds"));
        assertEquals("5", c.getProperty("hazelcast.max.no.heartbeat.seconds"));

    }

    @Test
    void the_minimum_is_a_majority() {
        int[][] cases = {{1, 0, 1}, {2, 1, 2}, {3, 2, 2}, {4, 2, 3}, {5, 2, 3}};
        for (int[] c : cases) {
            List<String> members = new java.util.ArrayList<>();
            for (int i = 0; i < c[0]; i++) {
                members.add("127.0.0.1:" + (5701 + i));
            }
            ClusterSettings s = ClusterSettings.of("127.0.0.1", 5701, members);
            assertEquals(c[2], s.minimumClusterSize(), "minimum of " + c[0] + " members");
        }
    }

    @Test
    void members_may_be_named_by_host_name_and_are_known_by_their_ipv4_address() {
        assertEquals(List.of("127.0.0.1:5701", "127.0.0.1:5702"), ClusterSettings.parseMembers("localhost:5701,127.0.0.1:5702"));
        assertEquals("127.0.0.1", ClusterSettings.resolveHost("localhost"));
        var unknown = assertThrows(io.replicode.FixableException.class, () -> ClusterSettings.resolveHost("no-such-member.invalid"));
        assertTrue(unknown.getMessage().contains("neither an IPv4 address nor a name that resolves to one"), unknown.getMessage());
    }

    @Test
    void settings_that_cannot_form_a_cluster_are_refused_with_a_fix() {
        var notListed = assertThrows(io.replicode.FixableException.class, () -> ClusterSettings.of("127.0.0.1", 5799, THREE));
        assertTrue(notListed.getMessage().contains("Fix:"), notListed.getMessage());
        assertThrows(io.replicode.FixableException.class, () -> ClusterSettings.of("localhost", 5701, THREE));
        assertThrows(io.replicode.FixableException.class, () -> ClusterSettings.parseMembers("127.0.0.1:5701,127.0.0.1"));
        assertThrows(io.replicode.FixableException.class, () -> ClusterSettings.parseMembers("300.0.0.1:5701"));
        assertThrows(io.replicode.FixableException.class, () -> ClusterSettings.of("127.0.0.1", 5701, THREE).withMinimumClusterSize(4));
        assertEquals(THREE, ClusterSettings.parseMembers(" 127.0.0.1:5701, 127.0.0.1:5702,127.0.0.1:5703 "));
    }

    @Test
    void a_base_file_replaces_the_bundled_one(@TempDir Path dir) throws Exception {
        String bundled = bundled();
        Path other = dir.resolve("other.xml");
        Files.writeString(other, bundled.replace("<cluster-name>replicode</cluster-name>", "<cluster-name>staging</cluster-name>"));
        assertEquals("staging", ClusterSettings.of("127.0.0.1", 5701, THREE).withBaseConfig(other).toConfig().getClusterName());

    }

    @Test
    void the_jar_carries_conf_cluster_xml_unchanged() throws Exception {
        byte[] inRepo = Files.readAllBytes(Path.of("..", "conf", "cluster.xml"));
        assertArrayEquals(inRepo, bundled().getBytes(StandardCharsets.UTF_8));
    }

    private static String bundled() throws Exception {
        try (InputStream in = ClusterSettings.class.getResourceAsStream(ClusterSettings.BASE_CONFIG_RESOURCE)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
