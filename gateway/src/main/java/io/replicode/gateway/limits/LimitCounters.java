package io.replicode.gateway.limits;

import io.vertx.core.json.JsonObject;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

/**
 * Every refusal and timeout of each app, by {@link Reason}, and the client input dropped because its
 * connection was closed before the guest read it. Single-threaded (the gateway's event loop).
 */
public final class LimitCounters {
    private final Map<String, EnumMap<Reason, Long>> byApp = new HashMap<>();
    private final Map<String, Long> discardedBytes = new HashMap<>();

    public void add(String app, Reason reason) {
        byApp.computeIfAbsent(app, a -> new EnumMap<>(Reason.class)).merge(reason, 1L, Long::sum);
    }

    /** {@code bytes} of client input to {@code app} were dropped unread (0 is ignored). */
    public void discarded(String app, long bytes) {
        if (bytes > 0) {
            discardedBytes.merge(app, bytes, Long::sum);
        }
    }

    public long count(String app, Reason reason) {
        EnumMap<Reason, Long> m = byApp.get(app);
        return m == null ? 0 : m.getOrDefault(reason, 0L);
    }

    /** Connections of {@code app} refused before they opened (unavailable, full, per-client cap). */
    public long refused(String app) {
        return count(app, Reason.UNAVAILABLE) + count(app, Reason.APP_FULL) + count(app, Reason.CLIENT_CAP);
    }

    public long discarded(String app) {
        return discardedBytes.getOrDefault(app, 0L);
    }

    /** {@code {"appFull": n, ..., "discardedInputBytes": n}} for {@code app}, every reason present. */
    public JsonObject json(String app) {
        JsonObject o = new JsonObject();
        for (Reason r : Reason.values()) {
            o.put(r.key(), count(app, r));
        }
        return o.put("discardedInputBytes", discarded(app));
    }
}
