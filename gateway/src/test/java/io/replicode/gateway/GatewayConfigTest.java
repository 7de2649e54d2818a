package io.replicode.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class GatewayConfigTest {
    @Test
    void http_goes_to_the_http_listener_by_default() {
        assertEquals("http", GatewayConfig.App.of("kv", List.of("resp", "http")).httpListener());
        assertNull(GatewayConfig.App.of("echo", List.of("main")).httpListener());
        assertNull(GatewayConfig.App.of("kv", List.of("http")).withHttp(null).httpListener());
    }

    @Test
    void reserved_names_rejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GatewayConfig.App.of("status", List.of("main")));
        assertTrue(e.getMessage().contains("taken by the gateway's own /status"), e.getMessage());
    }

    @Test
    void tcp_binding_to_an_unknown_listener_rejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GatewayConfig.App.of("kv", List.of("resp")).withTcp(6380, "line"));
        assertTrue(e.getMessage().contains("listener 'line', which is not one of [resp]"), e.getMessage());
    }

    @Test
    void one_port_for_two_things_rejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GatewayConfig.of(1, "127.0.0.1",
                List.of(GatewayConfig.App.of("kv", List.of("resp")).withTcp(8080, "resp"))));
        assertTrue(e.getMessage().contains("port 8080 is given to both the gateway's HTTP server and app 'kv'"), e.getMessage());
    }

    @Test
    void app_configured_twice_rejected() {
        GatewayConfig.App kv = GatewayConfig.App.of("kv", List.of("resp"));
        assertThrows(IllegalArgumentException.class, () -> GatewayConfig.of(1, "h", List.of(kv, kv)));
    }
}
