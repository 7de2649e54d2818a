package io.replicode.node.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.node.TestGuests;
import io.replicode.node.UserError;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.module.Engine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigLoaderTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    private static ConfigLoader.Flags flags(Path config, boolean given, List<String> apps, List<String> tcp) {
        return new ConfigLoader.Flags(config, given, "127.0.0.1", Engine.COMPILER, Path.of("data"), apps, tcp);
    }

    private static NodeConfig fromRepo(List<String> apps, List<String> tcp) {
        return ConfigLoader.load(flags(ConfigLoader.DEFAULT_CONFIG, false, apps, tcp), REPO);
    }

    private Path writeConfig(String json) throws IOException {
        Path f = tmp.resolve("replicode.json");
        Files.writeString(f, json);
        return f;
    }

    private UserError loadError(Path config) {
        return assertThrows(UserError.class, () -> ConfigLoader.load(flags(config, true, List.of(), List.of()), tmp));
    }

    @Test
    void shipped_config_runs_kv_and_image() {
        NodeConfig node = fromRepo(List.of(), List.of());
        assertEquals(List.of("kv", "image"), node.apps().stream().map(AppConfig::name).toList());
        AppConfig kv = node.apps().get(0);
        assertEquals(List.of("resp", "http", "line"), kv.listeners());
        assertEquals(List.of(new TcpBinding(6380, "resp"), new TcpBinding(7000, "line")), kv.tcp());
        assertEquals("http", kv.httpListener());
        AppConfig image = node.apps().get(1);
        assertEquals(Path.of("wasm-programs/wasm/image_server.wasm"), REPO.relativize(REPO.resolve(image.module())));
        assertEquals(List.of(new TcpBinding(7001, "files")), image.tcp());
        assertEquals("http", image.httpListener());
        assertEquals("16777216", image.env().get("IMAGE_MAX_PIXELS"));
        assertEquals(8_000_000_000L, image.limits().fuelPerFrame());
        assertEquals(8080, node.httpPort());
        assertEquals(3, node.replicas());
        assertEquals(io.replicode.replay.ReplayLog.FsyncPolicy.ALWAYS, node.fsync());
        assertEquals(new Batching(2, 256), node.batching());
    }

    @Test
    void args_env_and_preopens_come_from_the_config() throws IOException {
        Path module = TestGuests.module("probe");
        Path config = writeConfig("{\"apps\": {\"probe\": {\"module\": \"" + module + "\", \"args\": [\"probe\", \"-v\"],"
                + " \"env\": {\"B\": \"2\", \"A\": \"1\"}, \"preopens\": [\"/data\", \"/tmp\"], \"tcp\": [{\"port\": 7101}]}}}");
        AppConfig app = ConfigLoader.load(flags(config, true, List.of(), List.of()), tmp).apps().get(0);
        assertEquals(List.of("probe", "-v"), app.args());
        assertEquals(List.of("B", "A", "REPLICODE_MAX_CONNECTIONS"), List.copyOf(app.env().keySet()),
                "environment keeps the file's order; the guest learns its maxConnections last");
        assertEquals(List.of("/data", "/tmp"), app.preopens());
        AppConfig defaults = fromRepo(List.of(), List.of()).apps().get(0);
        assertEquals(List.of("/data"), defaults.preopens());
    }

    @Test
    void client_limits_come_from_the_apps_gateway_object_and_reach_the_guest_as_maxConnections() throws IOException {
        Path module = TestGuests.module("probe");
        Path config = writeConfig("{\"apps\": {\"probe\": {\"module\": \"" + module + "\", \"maxConnections\": 100,"
                + " \"gateway\": {\"maxConnectionsPerClient\": 8, \"idleTimeoutMs\": 60000, \"headerTimeoutMs\": 5000,"
                + " \"bodyTimeoutMs\": 30000, \"minBodyBytesPerSecond\": 1000}, \"tcp\": [{\"port\": 7101}]}}}");
        AppConfig app = ConfigLoader.load(flags(config, true, List.of(), List.of()), tmp).apps().get(0);
        assertEquals(new ClientLimits(8, 60_000, 5_000, 30_000, 1_000), app.clients());
        assertEquals("100", app.env().get(ConfigLoader.MAX_CONNECTIONS_ENV));

        AppConfig kv = fromRepo(List.of(), List.of()).apps().get(0);
        assertEquals(ClientLimits.DEFAULT, kv.clients());
        assertEquals("1024", kv.env().get(ConfigLoader.MAX_CONNECTIONS_ENV));
    }

    @Test
    void the_guest_gets_a_descriptor_for_every_connection_the_gateway_admits() throws IOException {
        AppConfig kv = fromRepo(List.of(), List.of()).apps().get(0);
        assertEquals(1024 + 3 + 3 + 1 + ConfigLoader.SPARE_GUEST_FDS, kv.limits().maxOpenFds(),
                "stdio, three listeners, /data and spare descriptors on top of 1024 connections");
        Path module = TestGuests.module("probe");
        Path small = writeConfig("{\"apps\": {\"probe\": {\"module\": \"" + module + "\", \"maxConnections\": 10,"
                + " \"tcp\": [{\"port\": 7101}]}}}");
        AppConfig probe = ConfigLoader.load(flags(small, true, List.of(), List.of()), tmp).apps().get(0);
        assertEquals(io.replicode.replica.GuestLimits.DEFAULT.maxOpenFds(), probe.limits().maxOpenFds(),
                "a default that is large enough stays");
        UserError e = loadError(writeConfig("{\"apps\": {\"probe\": {\"module\": \"" + module + "\", \"maxConnections\": 2000,"
                + " \"limits\": {\"maxOpenFds\": 1024}, \"tcp\": [{\"port\": 7101}]}}}"));
        assertTrue(e.getMessage().contains("apps.probe.limits.maxOpenFds = 1024 leaves the guest fewer descriptors"), e.getMessage());
        assertTrue(e.fix().contains("raise it to 2069"), e.fix());
    }

    @Test
    void the_users_own_max_connections_variable_is_kept() throws IOException {
        Path module = TestGuests.module("probe");
        Path config = writeConfig("{\"apps\": {\"probe\": {\"module\": \"" + module + "\", \"maxConnections\": 10,"
                + " \"env\": {\"REPLICODE_MAX_CONNECTIONS\": \"5\"}, \"tcp\": [{\"port\": 7101}]}}}");
        AppConfig app = ConfigLoader.load(flags(config, true, List.of(), List.of()), tmp).apps().get(0);
        assertEquals("5", app.env().get(ConfigLoader.MAX_CONNECTIONS_ENV));
        assertEquals(10, app.clients().maxConnectionsPerClient(), "the default cap is lowered to maxConnections");
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "\"gateway\": {\"idleTimeoutMs\": 0}|gateway.idleTimeoutMs",
            "\"gateway\": {\"headerTimeoutMs\": \"10s\"}|gateway.headerTimeoutMs",
            "\"gateway\": {\"bodyTimeoutMs\": -1}|gateway.bodyTimeoutMs",
            "\"gateway\": {\"minBodyBytesPerSecond\": 0}|gateway.minBodyBytesPerSecond",
            "\"gateway\": {\"idleTimeout\": 5}|unknown key 'idleTimeout'",
            "\"gateway\": 5|apps.probe.gateway",
            "\"maxConnections\": 10, \"gateway\": {\"maxConnectionsPerClient\": 11}|maxConnectionsPerClient 11 is above"})
    void bad_client_limits_are_refused_by_name(String entry) throws IOException {
        String[] parts = entry.split("\\|");
        Path module = TestGuests.module("probe");
        UserError e = loadError(writeConfig("{\"apps\": {\"probe\": {\"module\": \"" + module + "\", " + parts[0]
                + ", \"tcp\": [{\"port\": 7101}]}}}"));
        assertTrue(e.getMessage().contains(parts[1]), e.getMessage());
    }

    @Test
    void bad_preopen_is_refused_by_name() throws IOException {
        Path module = TestGuests.module("probe");
        UserError e = loadError(writeConfig("{\"apps\": {\"probe\": {\"module\": \"" + module
                + "\", \"preopens\": [\"/data/../x\"]}}}"));
        assertTrue(e.getMessage().contains("preopens[0]"), e.getMessage());
    }

    @Test
    void http_replicas_and_http_port_flags_shape_the_node() {
        NodeConfig node = ConfigLoader.load(new ConfigLoader.Flags(ConfigLoader.DEFAULT_CONFIG, false, "127.0.0.1", Engine.COMPILER,
                Path.of("data"), List.of("store=" + TestGuests.module("probe")), List.of("7000=store:resp"), List.of("store"), 5,
                9090), REPO);
        AppConfig store = node.apps().get(0);
        assertEquals("http", store.httpListener(), "--http APP means the app's 'http' listener");
        assertEquals(List.of("resp", "http"), store.listeners());
        assertEquals(5, node.replicas());
        assertEquals(9090, node.httpPort());
        UserError tooMany = assertThrows(UserError.class, () -> ConfigLoader.load(new ConfigLoader.Flags(ConfigLoader.DEFAULT_CONFIG,
                false, "127.0.0.1", Engine.COMPILER, Path.of("data"), List.of(), List.of(), List.of(), 17, null), REPO));
        assertTrue(tooMany.what().contains("--replicas 17"), tooMany.what());
        NodeConfig named = ConfigLoader.load(new ConfigLoader.Flags(ConfigLoader.DEFAULT_CONFIG, false, "127.0.0.1", Engine.COMPILER,
                Path.of("data"), List.of("store=" + TestGuests.module("probe")), List.of(), List.of("store:web"), null, null), REPO);
        assertEquals("web", named.apps().get(0).httpListener(), "an app reachable only over HTTP needs no TCP port");
    }

    @Test
    void tcp_flag_replaces_the_configured_ports() {
        AppConfig kv = fromRepo(List.of(), List.of("9000=kv")).apps().get(0);
        assertEquals(List.of(new TcpBinding(9000, "resp")), kv.tcp(), "a bare port takes the app's first listener");
    }

    @Test
    void app_flag_chooses_which_apps_run() {
        NodeConfig node = fromRepo(List.of("probe=" + TestGuests.module("probe")), List.of("7010=probe"));
        assertEquals(List.of("probe"), node.apps().stream().map(AppConfig::name).toList());
        assertEquals(GuestLimits.DEFAULT.withMaxOpenFds(1024 + 3 + 1 + 1 + ConfigLoader.SPARE_GUEST_FDS), node.apps().get(0).limits(),
                "default limits, with a descriptor for each of the 1024 connections it admits");
    }

    @Test
    void listeners_are_the_names_mentioned_in_order_and_a_bare_port_takes_the_first() {
        AppConfig kv = fromRepo(List.of("store=" + TestGuests.module("probe")),
                List.of("7000=store:resp", "7001=store:http", "7002=store")).apps().get(0);
        assertEquals(List.of("resp", "http"), kv.listeners());
        assertEquals(List.of(new TcpBinding(7000, "resp"), new TcpBinding(7001, "http"), new TcpBinding(7002, "resp")),
                kv.tcp());
    }

    @Test
    void a_bare_port_before_any_named_listener_is_main() {
        AppConfig probe = fromRepo(List.of("probe=" + TestGuests.module("probe")), List.of("7102=probe", "7103=probe:second"))
                .apps().get(0);
        assertEquals(List.of("main", "second"), probe.listeners());
        assertEquals(List.of(new TcpBinding(7102, "main"), new TcpBinding(7103, "second")), probe.tcp());
    }

    @Test
    void listener_defaults_to_main() {
        AppConfig a = fromRepo(List.of("a=" + TestGuests.module("echo_server")), List.of("7000=a")).apps().get(0);
        assertEquals(List.of("main"), a.listeners());
    }

    @ParameterizedTest
    @ValueSource(strings = {"7007", "=kv", "7007=", "port=kv", "70000=kv", "-1=kv", "7007=kv:", "7007=kv:a:b"})
    void malformed_tcp_is_a_user_error_with_a_fix(String value) {
        UserError e = assertThrows(UserError.class, () -> fromRepo(List.of(), List.of(value)));
        assertTrue(e.what().contains(value), e.what());
        assertTrue(e.fix().contains("--tcp 7007=echo") || e.what().contains("listener name"), e.what() + " / " + e.fix());
    }

    @ParameterizedTest
    @ValueSource(strings = {"echo", "echo=", "=x.wasm", "Echo=x.wasm", "1abc=x.wasm"})
    void malformed_app_is_a_user_error_with_a_fix(String value) {
        UserError e = assertThrows(UserError.class, () -> fromRepo(List.of(value), List.of("7007=echo")));
        assertTrue(e.what().contains("--app '" + value + "'"), e.what());
        assertTrue(e.fix().contains("--app echo="), e.fix());
    }

    @Test
    void tcp_naming_an_unknown_app_lists_the_known_ones() {
        UserError e = assertThrows(UserError.class, () -> fromRepo(List.of(), List.of("9000=nope")));
        assertTrue(e.what().contains("app 'nope'"), e.what());
        assertTrue(e.fix().contains("--app nope=PATH.wasm") && e.fix().contains("kv, image"), e.fix());
    }

    @Test
    void missing_module_file_names_the_file_and_the_flag() {
        UserError e = assertThrows(UserError.class, () -> fromRepo(List.of("x=missing/x.wasm"), List.of("7000=x")));
        assertTrue(e.what().contains("missing/x.wasm") && e.what().contains("does not exist"), e.what());
        assertTrue(e.fix().contains("--app"), e.fix());
    }

    @Test
    void a_port_given_twice_is_a_user_error() {
        UserError e = assertThrows(UserError.class, () -> fromRepo(List.of(), List.of("7000=kv", "7000=kv")));
        assertTrue(e.what().contains("port 7000 is given twice"), e.what());
    }

    @Test
    void an_app_without_a_port_is_a_user_error() throws IOException {
        Path config = writeConfig("{\"apps\": {\"a\": {\"module\": \"" + TestGuests.module("echo_server") + "\"}}}");
        UserError e = loadError(config);
        assertTrue(e.what().contains("no TCP port"), e.what());
        assertEquals("add --tcp PORT=a (e.g. --tcp 7007=a) or --http a, or list the services it connects to in"
                + " apps.a.upstreams", e.fix());
    }

    @Test
    void upstreams_are_read_checked_and_let_a_client_only_app_run() throws IOException {
        AppConfig client = ConfigLoader.load(new ConfigLoader.Flags(writeConfig("{\"apps\": {\"nc\": {\"module\": \""
                + TestGuests.module("rc_lines") + "\", \"upstreams\": [\"127.0.0.1:5432\", \"API.example.com:443\"],"
                + " \"upstreamConnectTimeoutMs\": 2500}}}"), true, "127.0.0.1", Engine.COMPILER, Path.of("data"),
                List.of(), List.of(), List.of(), null, null), REPO).apps().get(0);
        assertEquals(List.of("127.0.0.1:5432", "api.example.com:443"), client.upstreams());
        assertEquals(2500, client.upstreamConnectTimeoutMs());
        assertEquals(List.of("main"), client.listeners(), "a listener it may ignore");
        UserError bad = loadError(writeConfig("{\"apps\": {\"nc\": {\"module\": \"" + TestGuests.module("rc_lines")
                + "\", \"upstreams\": [\"db:99999\"]}}}"));
        assertTrue(bad.what().contains("upstreams[0]") && bad.what().contains("not 1..65535"), bad.what());
        assertTrue(bad.fix().contains("host:port"), bad.fix());
    }

    @Test
    void unknown_config_key_is_named() throws IOException {
        UserError e = loadError(writeConfig("{\"batchng\": {}}"));
        assertTrue(e.what().contains("unknown key 'batchng'"), e.what());
        assertTrue(e.fix().contains("apps, batching"), e.fix());
    }

    @Test
    void limits_come_from_the_config_and_out_of_range_ones_are_user_errors() throws IOException {
        String module = TestGuests.module("echo_server").toString();
        Path ok = writeConfig("{\"apps\": {\"a\": {\"module\": \"" + module
                + "\", \"tcp\": [{\"port\": 0}], \"limits\": {\"receiveBufferBytes\": 1000}}}}");
        AppConfig a = ConfigLoader.load(flags(ok, true, List.of(), List.of()), tmp).apps().get(0);
        assertEquals(1000, a.limits().receiveBufferBytes());
        assertEquals(GuestLimits.DEFAULT.memoryPages(), a.limits().memoryPages());

        Path bad = writeConfig("{\"apps\": {\"a\": {\"module\": \"" + module
                + "\", \"tcp\": [{\"port\": 0}], \"limits\": {\"callDepth\": 1}}}}");
        UserError e = loadError(bad);
        assertTrue(e.what().contains("apps.a.limits") && e.what().contains("callDepth"), e.what());
        assertTrue(e.fix().startsWith("use 16.."), e.fix());
    }

    @Test
    void wrong_types_name_the_key() throws IOException {
        UserError e = loadError(writeConfig("{\"batching\": {\"intervalMs\": \"fast\"}}"));
        assertTrue(e.what().contains("batching.intervalMs") && e.what().contains("\"fast\""), e.what());
    }

    @Test
    void batching_linger_is_read_and_bounded_by_the_interval() throws IOException {
        assertEquals(250, fromRepo(List.of(), List.of()).batching().lingerMicros(), "the default");
        String module = TestGuests.module("echo_server").toString();
        NodeConfig off = ConfigLoader.load(flags(writeConfig("{\"batching\": {\"lingerMicros\": 0}, \"apps\": {\"a\": {\"module\": \""
                + module + "\", \"tcp\": [{\"port\": 0}]}}}"), true, List.of(), List.of()), tmp);
        assertEquals(new Batching(2, 256, 0), off.batching());
        UserError e = loadError(writeConfig("{\"batching\": {\"intervalMs\": 1, \"lingerMicros\": 1500}}"));
        assertTrue(e.what().contains("batching.lingerMicros"), e.what());
    }

    @Test
    void invalid_json_is_a_user_error() throws IOException {
        UserError e = loadError(writeConfig("{\"apps\": "));
        assertTrue(e.what().contains("is not valid JSON"), e.what());
    }

    @Test
    void a_missing_config_given_with_the_flag_is_a_user_error() {
        UserError e = loadError(tmp.resolve("nope.json"));
        assertTrue(e.what().contains("nope.json does not exist"), e.what());
        assertTrue(e.fix().contains("--config"), e.fix());
    }
}
