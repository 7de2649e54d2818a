package io.replicode.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The layout of a node's data directory ({@code --data}), the one place its names are spelled:
 * <pre>
 *   &lt;data&gt;/node.json                       this node's gateway incarnation
 *   &lt;data&gt;/raft/                           clustered mode: this member's Ratis storage and peer-id
 *   &lt;data&gt;/&lt;app&gt;/genesis.json             seed, time, module hash, guest configuration
 *   &lt;data&gt;/&lt;app&gt;/log/                      the replay log's segments
 *   &lt;data&gt;/&lt;app&gt;/modules/&lt;sha256&gt;.wasm   every module the app has run (genesis and upgrades), by hash
 *   &lt;data&gt;/&lt;app&gt;/replica-&lt;n&gt;/snapshots/      replica n's snapshots
 *   &lt;data&gt;/&lt;app&gt;/replica-&lt;n&gt;/digests.log     replica n's record of outputs and state digests
 *   &lt;data&gt;/&lt;app&gt;/replica-&lt;n&gt;/digests.diverged-at-&lt;frame&gt;.log   the record of a replica rebuilt after a divergence
 * </pre>
 */
public record DataDir(Path root) {
    /** This node's gateway incarnation file. */
    public Path nodeFile() {
        return root.resolve("node.json");
    }

    /** Clustered mode: the member's Raft storage. */
    public Path raft() {
        return root.resolve("raft");
    }

    public App app(String name) {
        return new App(root.resolve(name));
    }

    /** One app's directory. */
    public record App(Path dir) {
        public Path genesis() {
            return dir.resolve("genesis.json");
        }

        public Path log() {
            return dir.resolve("log");
        }

        /** Every module the app has run, named by SHA-256 ({@link ModuleStore}). */
        public Path modules() {
            return dir.resolve("modules");
        }

        /** The replica count {@code replicode scale} set, when it differs from the configuration's ({@link ReplicaSet}). */
        public Path scaled() {
            return dir.resolve("replicas.json");
        }

        public Path replica(int n) {
            return dir.resolve("replica-" + n);
        }

        public Path snapshots(int replica) {
            return replica(replica).resolve("snapshots");
        }

        public Path digests(int replica) {
            return replica(replica).resolve("digests.log");
        }

        /**
         * Before a replica is rebuilt after diverging at {@code frame}: its snapshots are removed and its digest log is
         * kept beside as {@code digests.diverged-at-<frame>.log}, evidence for {@code replay verify --digests} and people.
         */
        public void resetReplica(int replica, long frame) throws IOException {
            Path snapshots = snapshots(replica);
            if (Files.isDirectory(snapshots)) {
                try (var files = Files.list(snapshots)) {
                    for (Path f : files.toList()) {
                        Files.deleteIfExists(f);
                    }
                }
            }
            Path record = digests(replica);
            if (Files.exists(record)) {
                Files.move(record, replica(replica).resolve("digests.diverged-at-" + frame + ".log"), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
