package io.replicode.nat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongFunction;

/**
 * The gateway's NAT: each external connection (a TCP socket, an HTTP request, an event-bus request) is
 * given a virtual connection id in its app's network, and the id leads back to the external end.
 * Ids are {@link ConnectionIds#of} this gateway and a counter that never repeats within the table's life
 * (counting up from a given start, so a restarted gateway can avoid the ids of its previous run).
 *
 * <p>Pure and single-threaded: the caller passes the time in.
 *
 * @param <P> what the table keeps for an external end (the object outputs are delivered to)
 */
public final class NatTable<P> {
    /** How the external end reached the gateway. */
    public enum Kind {
        TCP, HTTP, EVENT_BUS;

        public String label() {
            return name().toLowerCase().replace('_', '-');
        }
    }

    /**
     * One mapping: {@code external} (e.g. the client's address) ⇄ {@code (app, listener, connection)}.
     *
     * @param openedAtMs when the mapping was made, in the caller's clock
     */
    public record Mapping<P>(long connection, String app, String listener, Kind kind, String external, long openedAtMs,
                             P peer) {}

    private final int gatewayId;
    private long lastCounter;
    private long opened;
    /** In opening order, so listings show the oldest connections first. */
    private final LinkedHashMap<Long, Mapping<P>> byConnection = new LinkedHashMap<>();
    private final Map<String, Integer> perApp = new HashMap<>();
    private final EnumMap<Kind, Integer> perKind = new EnumMap<>(Kind.class);

    public NatTable(int gatewayId) {
        this(gatewayId, 1);
    }

    /** A table whose first connection gets counter {@code firstCounter} (see GatewayConfig#firstConnectionCounter). */
    public NatTable(int gatewayId, long firstCounter) {
        if (gatewayId < 0 || gatewayId > ConnectionIds.MAX_GATEWAY) {
            throw new IllegalArgumentException("gateway id " + gatewayId + " outside 0.." + ConnectionIds.MAX_GATEWAY);
        }
        if (firstCounter < 1 || firstCounter > ConnectionIds.MAX_COUNTER) {
            throw new IllegalArgumentException("first connection counter " + firstCounter + " outside 1.." + ConnectionIds.MAX_COUNTER);
        }
        this.gatewayId = gatewayId;
        this.lastCounter = firstCounter - 1;
    }

    /**
     * Maps a new external connection to a fresh virtual connection of {@code app}'s {@code listener};
     * {@code peer} is built with the new id.
     */
    public Mapping<P> open(String app, String listener, Kind kind, String external, long nowMs, LongFunction<P> peer) {
        Objects.requireNonNull(app, "app");
        Objects.requireNonNull(listener, "listener");
        long id = ConnectionIds.of(gatewayId, lastCounter + 1);
        lastCounter++;
        Mapping<P> m = new Mapping<>(id, app, listener, kind, external, nowMs, peer.apply(id));
        byConnection.put(id, m);
        perApp.merge(app, 1, Integer::sum);
        perKind.merge(kind, 1, Integer::sum);
        opened++;
        return m;
    }

    /** The mapping of {@code connection}, or null when it was never made or is gone. */
    public Mapping<P> get(long connection) {
        return byConnection.get(connection);
    }

    /** Forgets {@code connection}; returns its mapping, or null if it was already gone. */
    public Mapping<P> remove(long connection) {
        Mapping<P> m = byConnection.remove(connection);
        if (m != null) {
            perApp.merge(m.app(), -1, Integer::sum);
            perKind.merge(m.kind(), -1, Integer::sum);
        }
        return m;
    }

    /** Open mappings. */
    public int size() {
        return byConnection.size();
    }

    /** Open mappings of {@code app}. */
    public int count(String app) {
        return perApp.getOrDefault(app, 0);
    }

    /** Open mappings of {@code kind}. */
    public int count(Kind kind) {
        return perKind.getOrDefault(kind, 0);
    }

    /** Mappings made since the table was created, closed ones included. */
    public long opened() {
        return opened;
    }

    /** At most {@code limit} open mappings, oldest first. */
    public List<Mapping<P>> list(int limit) {
        List<Mapping<P>> out = new ArrayList<>(Math.min(limit, byConnection.size()));
        for (Mapping<P> m : byConnection.values()) {
            if (out.size() >= limit) {
                break;
            }
            out.add(m);
        }
        return out;
    }

    /** The open mappings of {@code app}, oldest first (a copy: the caller may close them while iterating). */
    public List<Mapping<P>> of(String app) {
        if (count(app) == 0) {
            return Collections.emptyList();
        }
        List<Mapping<P>> out = new ArrayList<>(count(app));
        for (Mapping<P> m : byConnection.values()) {
            if (m.app().equals(app)) {
                out.add(m);
            }
        }
        return out;
    }

    /** Every open mapping, oldest first (a copy). */
    public List<Mapping<P>> all() {
        return new ArrayList<>(byConnection.values());
    }
}
