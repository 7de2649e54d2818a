package io.replicode.node.config;

import io.replicode.replay.ReplayLog;
import io.replicode.replica.module.Engine;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Everything {@code replicode run} needs to start a node, once the config file and the flags are merged.
 *
 * @param host     address the TCP ports bind to
 * @param engine   how Chicory runs the guests
 * @param dataDir  where durable state lives: per app its genesis, replay log and replicas' snapshots
 * @param batching how events become frames
 * @param apps     the apps to run, in start order
 * @param httpPort the gateway's HTTP port (/status, /health, /&lt;app&gt;/...)
 * @param replicas replicas per app
 * @param fsync    when the replay log forces frames to disk
 * @param snapshotEveryFrames replicas snapshot after every frame whose seq is a multiple of this (0: never)
 */
public record NodeConfig(String host, Engine engine, Path dataDir, Batching batching, List<AppConfig> apps,
                         int httpPort, int replicas, ReplayLog.FsyncPolicy fsync, int snapshotEveryFrames) {
    public NodeConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(batching, "batching");
        apps = List.copyOf(apps);
    }
}
