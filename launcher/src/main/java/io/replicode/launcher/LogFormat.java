package io.replicode.launcher;

import io.replicode.node.config.AppConfig;
import io.replicode.node.config.NodeConfig;
import java.util.Set;
import java.util.stream.Collectors;

/** {@code --log-format}: read before the command line is parsed ({@link Logs#setUp}); the option checks the value. */
enum LogFormat {
    TEXT, JSON;

    /** The app names a node's log lines may be about. */
    static Set<String> apps(NodeConfig node) {
        return node.apps().stream().map(AppConfig::name).collect(Collectors.toSet());
    }
}
