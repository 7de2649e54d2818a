package io.replicode.launcher.config;

import io.replicode.replica.module.Engine;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Everything {@code replicode run} needs to start a node, once the config file and the flags are merged.
 *
 * @param host     address the TCP ports bind to
 * @param engine   how Chicory runs the guests
 * @param dataDir  where durable state will live (replay logs, snapshots); nothing is written there yet
 * @param batching how events become frames
 * @param apps     the apps to run, in start order
 */
public record NodeConfig(String host, Engine engine, Path dataDir, Batching batching, List<AppConfig> apps) {
    public NodeConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(batching, "batching");
        apps = List.copyOf(apps);
    }
}
