package io.replicode.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.config.InvalidConfigurationException;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
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
 * supplies what differs per member: the port and interface and the full member list. The frames themselves are
 * not in Hazelcast: each app's Raft group ({@link RaftMember}) orders and stores them.
 *
 * @param host               IP address this member binds to and announces (127.0.0.1 on one machine)
 * @param port               Hazelcast port of this member
 * @param members            every member of the cluster as {@code ip:port}, this one included, the same list on all
 * @param minimumClusterSize members a member's gateway must see to take new clients (default: a majority of
 *                           {@code members}); below it the member is cut off from the majority and says so
 * @param baseConfig         a Hazelcast XML file to start from, or null for the bundled {@code conf/cluster.xml}
 */
public record ClusterSettings(String host, int port, List<String> members, int minimumClusterSize, Path baseConfig,
                              Tls tls) {

    /**
     * TLS between members: the Vert.x event bus (with client certificates: only members that hold one connect) and the
     * Raft traffic (gRPC, mutual TLS). Every member presents {@code cert} (PEM, with {@code key}) and trusts the
     * certificates in {@code ca} (a shared self-signed certificate may be its own CA). The certificate must name the
     * members' addresses (subjectAltName IP:...), which the Raft client verifies.
     */
    public record Tls(Path cert, Path key, Path ca) {
        public Tls {
            java.util.Objects.requireNonNull(cert, "cert");
            java.util.Objects.requireNonNull(key, "key");
            java.util.Objects.requireNonNull(ca, "ca");
        }
    }

    /** The bundled copy of {@code conf/cluster.xml}. */
    public static final String BASE_CONFIG_RESOURCE = "/io/replicode/cluster/cluster.xml";
    /** Hazelcast holds at most 7 copies of a partition; a cluster of more members is not our use. */
    public static final int MAX_MEMBERS = 64;

    private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");

    public ClusterSettings {
        if (!isIpv4(host)) {
            throw new io.replicode.FixableException("cluster host '" + host + "' is not an IPv4 address", "give the address "
                    + "this member binds to, e.g. 127.0.0.1 when all members run on one machine");
        }
        checkPort(port, "cluster port");
        members = List.copyOf(new LinkedHashSet<>(members));
        if (members.isEmpty() || members.size() > MAX_MEMBERS) {
            throw new io.replicode.FixableException("cluster members: " + members.size() + " given", "list 1.." + MAX_MEMBERS + " members with --cluster-members");
        }
        for (String m : members) {
            parseMember(m);
        }
        if (!members.contains(host + ":" + port)) {
            throw new io.replicode.FixableException("this member " + host + ":" + port + " is not in the cluster members "
                    + members, "list every member, this one included, identically on every member");
        }
        if (minimumClusterSize < 1 || minimumClusterSize > members.size()) {
            throw new io.replicode.FixableException("minimum cluster size " + minimumClusterSize + " is outside 1.." + members.size()
                    + " (the number of members listed)", "give --cluster-min-size between 1 and the number of members");
        }
    }

    /** This member among {@code members}, with a majority as minimum size. */
    public static ClusterSettings of(String host, int port, List<String> members) {
        return new ClusterSettings(host, port, members, majority(members.size()), null, null);
    }

    /**
     * Parses {@code host:port,host:port,...} (the {@code --cluster-members} flag), each host an IPv4 address or a name
     * that resolves to one; returns them as {@code ip:port}, the form members are known by everywhere (Raft peer ids,
     * the member that answers).
     */
    public static List<String> parseMembers(String list) {
        List<String> out = new ArrayList<>();
        for (String part : list.split(",")) {
            String m = part.strip();
            if (!m.isEmpty()) {
                int colon = m.lastIndexOf(':');
                String resolved = colon <= 0 ? m : resolveHost(m.substring(0, colon)) + m.substring(colon);
                parseMember(resolved);
                out.add(resolved);
            }
        }
        return out;
    }

    /**
     * {@code host} as an IPv4 address: itself when it is one, else the first IPv4 address its name resolves to (a
     * member is found by address; names are for the people who list them).
     */
    public static String resolveHost(String host) {
        if (isIpv4(host)) {
            return host;
        }
        try {
            for (java.net.InetAddress a : java.net.InetAddress.getAllByName(host)) {
                if (a instanceof java.net.Inet4Address) {
                    return a.getHostAddress();
                }
            }
        } catch (java.net.UnknownHostException e) {
            // said below
        }
        throw new io.replicode.FixableException("cluster host '" + host + "' is neither an IPv4 address nor a name that"
                + " resolves to one", "give the member's IPv4 address, or a host name the machine resolves (/etc/hosts, DNS)");
    }

    /** The smallest number of members that is more than half of {@code members}. */
    public static int majority(int members) {
        return members / 2 + 1;
    }

    public ClusterSettings withMinimumClusterSize(int size) {
        return new ClusterSettings(host, port, members, size, baseConfig, tls);
    }

    public ClusterSettings withBaseConfig(Path file) {
        return new ClusterSettings(host, port, members, minimumClusterSize, file, tls);
    }

    /** The same, with TLS between members (null: none). */
    public ClusterSettings withTls(Tls tls) {
        return new ClusterSettings(host, port, members, minimumClusterSize, baseConfig, tls);
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

        return config;
    }

    private Config loadBase() {
        try (InputStream in = baseConfig != null ? Files.newInputStream(baseConfig)
                : ClusterSettings.class.getResourceAsStream(BASE_CONFIG_RESOURCE)) {
            if (in == null) {
                throw new io.replicode.FixableException("the bundled Hazelcast configuration " + BASE_CONFIG_RESOURCE
                        + " is missing from the classpath", "rebuild the cluster module (it copies conf/cluster.xml)");
            }
            return new XmlConfigBuilder(in).build();
        } catch (IOException | InvalidConfigurationException e) {
            throw new io.replicode.FixableException("Hazelcast configuration " + baseName() + " could not be read: " + e.getMessage(),
                    "correct the file (conf/cluster.xml of the Replicode repository is the reference)", e);
        }
    }

    private String baseName() {
        return baseConfig != null ? baseConfig.toString() : "conf/cluster.xml (bundled)";
    }

    private static void parseMember(String member) {
        int colon = member.lastIndexOf(':');
        if (colon < 0 || !isIpv4(member.substring(0, colon))) {
            throw new io.replicode.FixableException("cluster member '" + member + "' is not host:port", "e.g. 127.0.0.1:5701 or node2:5701");
        }
        int port;
        try {
            port = Integer.parseInt(member.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new io.replicode.FixableException("cluster member '" + member + "' has no numeric port", "e.g. 127.0.0.1:5701");
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
            throw new io.replicode.FixableException(what + " " + port + " is outside 1..65535", "choose a port in 1..65535");
        }
    }
}
