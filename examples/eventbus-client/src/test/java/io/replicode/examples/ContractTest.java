package io.replicode.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import com.hazelcast.config.MultiMapConfig;
import io.replicode.cluster.ClusterSettings;
import io.replicode.gateway.eventbus.EventBusIngress;
import io.replicode.nat.Addresses;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The example copies a few facts from Replicode instead of depending on it; these checks fail when Replicode changes
 * them. Plus the RESP formatting of the command line.
 */
class ContractTest {

    @Test
    void address_header_and_failure_codes_are_the_gateways() {
        assertEquals(Addresses.request("kv"), EventBusClient.requestAddress("kv"));
        assertEquals(EventBusIngress.LISTENER_HEADER, EventBusClient.LISTENER_HEADER);
        assertEquals(EventBusIngress.BAD_REQUEST, EventBusClient.BAD_REQUEST);
        assertEquals(EventBusIngress.NO_SUCH_LISTENER, EventBusClient.NO_SUCH_LISTENER);
        assertEquals(EventBusIngress.TOO_LARGE, EventBusClient.TOO_LARGE);
        assertEquals(EventBusIngress.RESET, EventBusClient.RESET);
        assertEquals(EventBusIngress.UNAVAILABLE, EventBusClient.UNAVAILABLE);
        assertEquals(EventBusIngress.TIMEOUT, EventBusClient.GATEWAY_TIMEOUT);
    }

    @Test
    void hazelcast_config_matches_conf_cluster_xml_where_it_matters() {
        Config member = ClusterSettings.of("127.0.0.1", 5701, List.of("127.0.0.1:5701", "127.0.0.1:5702")).toConfig();
        Config lite = EventBusClient.hazelcastConfig("127.0.0.1", 5710, List.of("127.0.0.1:5701", "127.0.0.1:5702"));
        assertTrue(lite.isLiteMember());
        assertFalse(member.isLiteMember());
        assertEquals(member.getClusterName(), lite.getClusterName());
        for (String p : List.of("hazelcast.heartbeat.interval.seconds", "hazelcast.max.no.heartbeat.seconds",
                "hazelcast.phone.home.enabled", "hazelcast.shutdownhook.enabled")) {
            assertEquals(member.getProperty(p), lite.getProperty(p), p);
        }
        var join = lite.getNetworkConfig().getJoin();
        assertFalse(join.getMulticastConfig().isEnabled());
        assertFalse(join.getAutoDetectionConfig().isEnabled());
        assertTrue(join.getTcpIpConfig().isEnabled());
        assertEquals(List.of("127.0.0.1:5701", "127.0.0.1:5702"), join.getTcpIpConfig().getMembers());
        assertEquals(5710, lite.getNetworkConfig().getPort());
        assertFalse(lite.getNetworkConfig().isPortAutoIncrement());

        MultiMapConfig subs = lite.getMultiMapConfigs().get("__vertx.subs");
        MultiMapConfig memberSubs = member.getMultiMapConfigs().get("__vertx.subs");
        assertEquals(memberSubs.getBackupCount(), subs.getBackupCount());
        assertEquals(memberSubs.getValueCollectionType(), subs.getValueCollectionType());
        for (String map : List.of("__vertx.haInfo", "__vertx.nodeInfo")) {
            assertEquals(member.getMapConfigs().get(map).getBackupCount(), lite.getMapConfigs().get(map).getBackupCount(), map);
        }
    }

    @Test
    void resp_commands_are_arrays_of_bulk_strings() {
        // Lengths count UTF-8 bytes: "h\u00e9" is 3.
        assertEquals("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nh\u00e9\r\n",
                EventBusClient.resp("SET", "k", "h\u00e9").toString(StandardCharsets.UTF_8));
        assertEquals("SET k two words\n", EventBusClient.line(List.of("SET", "k", "two words")).toString());
    }

    @Test
    void replies_are_shown_as_redis_cli_shows_them() {
        assertEquals("OK\n(integer) 2\n\"a\\r\\nb\"\n(nil)\n(error) ERR unknown command 'x'\n",
                EventBusClient.formatResp(Buffer.buffer("+OK\r\n:2\r\n$4\r\na\r\nb\r\n$-1\r\n-ERR unknown command 'x'\r\n")));
        assertEquals("1) \"a\"\n2) (empty array)\n",
                EventBusClient.formatResp(Buffer.buffer("*2\r\n$1\r\na\r\n*0\r\n")));
        assertEquals("OK\n(unparsed) \"$5\\r\\nab\"\n", EventBusClient.formatResp(Buffer.buffer("+OK\r\n$5\r\nab")));
    }

    @Test
    void command_line_is_parsed() {
        EventBusClient.Args a = EventBusClient.parse(new String[] {"--members", "127.0.0.1:5701,127.0.0.1:5702", "--listener",
                "line", "SET", "k", "v", ";", "GET", "k"});
        assertEquals(List.of("127.0.0.1:5701", "127.0.0.1:5702"), a.members());
        assertEquals("127.0.0.1", a.host());
        assertEquals(5710, a.port());
        assertEquals("kv", a.app());
        assertTrue(a.lineProtocol());
        assertEquals("SET k v\nGET k\n", a.body().toString());
        assertThrows(IllegalArgumentException.class, () -> EventBusClient.parse(new String[] {"--members", "x", "get", "k"}));
        assertThrows(IllegalArgumentException.class, () -> EventBusClient.parse(new String[] {"--members", "127.0.0.1:5701"}));
        assertThrows(IllegalArgumentException.class,
                () -> EventBusClient.parse(new String[] {"--members", "127.0.0.1:5701", "--protocol", "http", "get", "k"}));
    }
}
