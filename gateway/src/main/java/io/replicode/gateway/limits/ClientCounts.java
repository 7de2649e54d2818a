package io.replicode.gateway.limits;

import java.util.HashMap;
import java.util.Map;

/**
 * Open connections per (app, client address), for {@code maxConnectionsPerClient}. Each opened connection
 * is remembered by id, so closing it twice, or closing one that was never counted, changes nothing.
 * Single-threaded.
 */
public final class ClientCounts {
    private record Key(String app, String client) {}

    private final Map<Key, Integer> open = new HashMap<>();
    private final Map<Long, Key> byConnection = new HashMap<>();

    /** Open connections of {@code app} from {@code client}. */
    public int count(String app, String client) {
        return open.getOrDefault(new Key(app, client), 0);
    }

    /** {@code connection} of {@code app} from {@code client} opened; a null client is not counted. */
    public void opened(long connection, String app, String client) {
        if (client == null) {
            return;
        }
        Key k = new Key(app, client);
        byConnection.put(connection, k);
        open.merge(k, 1, Integer::sum);
    }

    /** {@code connection} closed. */
    public void closed(long connection) {
        Key k = byConnection.remove(connection);
        if (k != null) {
            open.computeIfPresent(k, (key, n) -> n == 1 ? null : n - 1);
        }
    }

    /** Addresses with at least one open connection (for status). */
    public int clients() {
        return open.size();
    }
}
