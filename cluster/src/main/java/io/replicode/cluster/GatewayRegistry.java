package io.replicode.cluster;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.replicode.nat.ConnectionIds;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Cluster-wide numbering of gateways: every member process gets a gateway id of its own (the top bits of every
 * connection id it makes, and the address of its outputs) that no other process of the cluster has used, and the
 * registry remembers which member holds it, so the sequencer can cut a {@code GatewayLost} frame for the gateways of
 * a member that left.
 *
 * <p>A Hazelcast map {@value #MAP} from gateway id to the member's Vert.x node id (stable across Hazelcast merges,
 * unlike the member's Hazelcast UUID), with the cluster's usual backups. An id is taken by
 * {@code putIfAbsent} of a random id (2^24 of them), so two members starting at once never share one, and an id is
 * never reused while its entry exists. Entries are kept after their member left (one per member process started;
 * each app's sequencer cuts the loss of the gateways in its own history once).
 */
public final class GatewayRegistry {
    public static final String MAP = "replicode.gateways";
    private static final int MAX_TRIES = 64;

    private final IMap<Integer, String> map;

    public GatewayRegistry(HazelcastInstance hazelcast) {
        this.map = hazelcast.getMap(MAP);
    }

    /** Takes a fresh gateway id for the member whose node id is {@code memberUuid}. */
    public int allocate(String memberUuid) {
        for (int i = 0; i < MAX_TRIES; i++) {
            int id = 1 + ThreadLocalRandom.current().nextInt(ConnectionIds.MAX_ALLOCATED_GATEWAY);
            if (map.putIfAbsent(id, memberUuid) == null) {
                return id;
            }
        }
        throw new IllegalStateException("no free gateway id after " + MAX_TRIES + " tries (" + map.size()
                + " registered). Fix: this should not happen below millions of gateways; report it");
    }

    /**
     * Those of {@code gateways} that are lost: registered to a member not in {@code liveMembers} (node ids), or not
     * registered at all (a gateway of an earlier cluster, before every member restarted).
     */
    public List<Integer> lostAmong(Collection<Integer> gateways, Set<String> liveMembers) {
        Map<Integer, String> owners = map.getAll(new HashSet<>(gateways));
        List<Integer> lost = new ArrayList<>();
        for (int g : gateways) {
            String member = owners.get(g);
            if (member == null || !liveMembers.contains(member)) {
                lost.add(g);
            }
        }
        lost.sort(null);
        return lost;
    }

    /** Puts {@code gateway -> memberUuid} again (after a merge, in case the entry was on the side that lost it). */
    public void reassert(int gateway, String memberUuid) {
        map.put(gateway, memberUuid);
    }

    public int size() {
        return map.size();
    }
}
