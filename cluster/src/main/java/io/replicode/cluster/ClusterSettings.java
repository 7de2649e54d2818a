package io.replicode.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.config.InvalidConfigurationException;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.config.RingbufferConfig;
import com.hazelcast.config.SplitBrainProtectionConfig;
import com.hazelcast.config.XmlConfigBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Where this member listens and who its peers are; builds the Hazelcast {@link Config} of the member.
 *
 * <p>The base configuration is {@code conf/cluster.xml} (a copy travels in this module's jar); this record
 * supplies what differs per member or per cluster size: the port and interface, the full member list,
 * the minimum cluster size of split-brain protection and the frame rings' capacity and backups.
 *
 * @param host               IP address this member binds to and announces (127.0.0.1 on one machine)
 * @param port               Hazelcast port of this member
 * @param members            every member of the cluster as {@code ip:port}, this one included, the same list on all
 * @param minimumClusterSize members a member must see to append frames (default: a majority of {@code members});
 *                           1 turns split-brain protection off (Hazelcast's own minimum is 2)
 * @param ringCapacity       frames each app's ring keeps before overwriting the oldest
 * @param baseConfig         a Hazelcast XML file to start from, or null for the bundled {@code conf/cluster.xml}
 */
public record ClusterSettings(String host, int port, List<String> members, int minimumClusterSize, int ringCapacity,
                             Path baseConfig) {

    /** The bundled copy of {@code conf/cluster.xml}. */
    public static final String BASE_CONFIG_RESOURCE = "/io/replicode/cluster/cluster.xml";
    /** Name of the split-brain protection that guards the frame rings (declared in cluster.xml). */
    public static final String SPLIT_BRAIN_PROTECTION = "replicode-majority";
    /** The ring configuration every app's frame ring matches (declared in cluster.xml). */
    public static final String FRAME_RING_PATTERN = RingbufferFrameLog.RING_PREFIX + "*";
    /** Synchronous backups of a frame ring are capped here: three copies survive any two member losses. */
    public static final int MAX_SYNC_BACKUPS = 2;
    public static final int DEFAULT_RING_CAPACITY = 100_000;
    /** A ring's slots are allocated up front ({@code capacity} references per copy): bound it. */
    public static final int MAX_RING_CAPACITY = 10_000_000;
    public static final int MIN_RING_CAPACITY = 16;
    /** Hazelcast holds at most 7 copies of a partition; a cluster of more members is not our use. */
    public static final int MAX_MEMBERS = 64;

    private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");

    public ClusterSettings {
        if (!isIpv4(host)) {
            throw new IllegalArgumentException("cluster host '" + host + "' is not an IPv4 address. Fix: give the address "
                    + "this member binds to, e.g. 127.0.0.1 when all members run on one machine");
        }
        checkPort(port, "cluster port");
        members = List.copyOf(new LinkedHashSet<>(members));
        if (members.isEmpty() || members.size() > MAX_MEMBERS) {
            throw new IllegalArgumentException("cluster members: " + members.size() + " given (1.." + MAX_MEMBERS + ")");
        }
        for (String m : members) {
            parseMember(m);
        }
        if (!members.contains(host + ":" + port)) {
            throw new IllegalArgumentException("this member " + host + ":" + port + " is not in the cluster members "
                    + members + ". Fix: list every member, this one included, identically on every member");
        }
        if (minimumClusterSize < 1 || minimumClusterSize > members.size()) {
            throw new IllegalArgumentException("minimum cluster size " + minimumClusterSize + " is outside 1.." + members.size()
                    + " (the number of members listed)");
        }
        if (ringCapacity < MIN_RING_CAPACITY || ringCapacity > MAX_RING_CAPACITY) {
            throw new IllegalArgumentException("ring capacity " + ringCapacity + " is outside " + MIN_RING_CAPACITY + ".."
                    + MAX_RING_CAPACITY);
        }
    }

    /** This member among {@code members}, with a majority as minimum size and the default ring capacity. */
    public static ClusterSettings of(String host, int port, List<String> members) {
        return new ClusterSettings(host, port, members, majority(members.size()), DEFAULT_RING_CAPACITY, null);
    }

    /** Parses {@code ip:port,ip:port,...} (the {@code --cluster-members} flag). */
    public static List<String> parseMembers(String list) {
        List<String> out = new ArrayList<>();
        for (String part : list.split(",")) {
            String m = part.strip();
            if (!m.isEmpty()) {
                parseMember(m);
                out.add(m);
            }
        }
        return out;
    }

    /** The smallest number of members that is more than half of {@code members}. */
    public static int majority(int members) {
        return members / 2 + 1;
    }

    public ClusterSettings withMinimumClusterSize(int size) {
        return new ClusterSettings(host, port, members, size, ringCapacity, baseConfig);
    }

    public ClusterSettings withRingCapacity(int capacity) {
        return new ClusterSettings(host, port, members, minimumClusterSize, capacity, baseConfig);
    }

    public ClusterSettings withBaseConfig(Path file) {
        return new ClusterSettings(host, port, members, minimumClusterSize, ringCapacity, file);
    }

    /** Synchronous backups of each frame ring: every other member, up to {@link #MAX_SYNC_BACKUPS}. */
    public int ringBackupCount() {
        return Math.min(MAX_SYNC_BACKUPS, members.size() - 1);
    }

    /** A new Hazelcast configuration for this member (a Config serves one instance: build one per member). */
    public Config toConfig() {
        Config config = loadBase();
        NetworkConfig network = config.getNetworkConfig();
        network.setPort(port).setPortAutoIncrement(false);
        network.getInterfaces().setEnabled(true).setInterfaces(List.of(host));
        JoinConfig join = network.getJoin();
        join.getMulticastConfig().setEnabled(false);
        join.getAutoDetectionConfig().setEnabled(false);
        join.getTcpIpConfig().setEnabled(true).setMembers(new ArrayList<>(members));

        SplitBrainProtectionConfig protection = config.getSplitBrainProtectionConfigs().get(SPLIT_BRAIN_PROTECTION);
        RingbufferConfig ring = config.getRingbufferConfigs().get(FRAME_RING_PATTERN);
        if (protection == null || ring == null) {
            throw new IllegalStateException("Hazelcast base configuration " + baseName() + " lacks the split-brain-protection '"
                    + SPLIT_BRAIN_PROTECTION + "' or the ringbuffer '" + FRAME_RING_PATTERN + "'. Fix: start from "
                    + "conf/cluster.xml of the Replicode repository");
        }
        // Hazelcast refuses a minimum below 2; a minimum of 1 means no protection (a cluster of one member).
        boolean protect = minimumClusterSize >= 2;
        protection.setEnabled(protect);
        if (protect) {
            protection.setMinimumClusterSize(minimumClusterSize);
        }
        ring.setCapacity(ringCapacity)
                .setBackupCount(ringBackupCount())
                .setAsyncBackupCount(0)
                .setTimeToLiveSeconds(0)
                .setSplitBrainProtectionName(protect ? SPLIT_BRAIN_PROTECTION : null);
        return config;
    }

    private Config loadBase() {
        try (InputStream in = baseConfig != null ? Files.newInputStream(baseConfig)
                : ClusterSettings.class.getResourceAsStream(BASE_CONFIG_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the bundled Hazelcast configuration " + BASE_CONFIG_RESOURCE
                        + " is missing from the classpath. Fix: rebuild the cluster module (it copies conf/cluster.xml)");
            }
            return new XmlConfigBuilder(in).build();
        } catch (IOException | InvalidConfigurationException e) {
            throw new IllegalStateException("Hazelcast configuration " + baseName() + " could not be read: " + e.getMessage()
                    + ". Fix: correct the file (conf/cluster.xml of the Replicode repository is the reference)", e);
        }
    }

    private String baseName() {
        return baseConfig != null ? baseConfig.toString() : "conf/cluster.xml (bundled)";
    }

    private static void parseMember(String member) {
        int colon = member.lastIndexOf(':');
        if (colon < 0 || !isIpv4(member.substring(0, colon))) {
            throw new IllegalArgumentException("cluster member '" + member + "' is not ip:port. Fix: e.g. 127.0.0.1:5701");
        }
        int port;
        try {
            port = Integer.parseInt(member.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("cluster member '" + member + "' has no numeric port. Fix: e.g. 127.0.0.1:5701");
        }
        checkPort(port, "port of cluster member '" + member + "'");
    }

    private static boolean isIpv4(String s) {
        if (s == null) {
            return false;
        }
        var m = IPV4.matcher(s);
        if (!m.matches()) {
            return false;
        }
        for (int i = 1; i <= 4; i++) {
            if (Integer.parseInt(m.group(i)) > 255) {
                return false;
            }
        }
        return true;
    }

    private static void checkPort(int port, String what) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(what + " " + port + " is outside 1..65535");
        }
    }
}
