package io.replicode.nat;

/**
 * Virtual connection ids: the owning gateway in the top 24 bits, a per-gateway counter in the low 40.
 * Any replica can tell from an id which gateway its outputs go to.
 */
public final class ConnectionIds {
    public static final int GATEWAY_BITS = 24;
    public static final int COUNTER_BITS = 40;
    public static final int MAX_GATEWAY = (1 << GATEWAY_BITS) - 1;
    public static final long MAX_COUNTER = (1L << COUNTER_BITS) - 1;
    /**
     * The gateway id of connections a guest opens to its upstreams: their outputs go to the upstream connector beside
     * the app's sequencer. The largest id whose connection ids are positive (negative ones read as "no connection").
     */
    public static final int UPSTREAM_GATEWAY = (1 << (63 - COUNTER_BITS)) - 1;
    /** The largest id a gateway may take in a cluster: below {@link #UPSTREAM_GATEWAY}, so its connection ids are positive. */
    public static final int MAX_ALLOCATED_GATEWAY = UPSTREAM_GATEWAY - 1;

    private ConnectionIds() {}

    public static long of(int gateway, long counter) {
        if (gateway < 0 || gateway > MAX_GATEWAY) {
            throw new IllegalArgumentException("gateway id " + gateway + " outside 0.." + MAX_GATEWAY);
        }
        if (counter < 1 || counter > MAX_COUNTER) {
            throw new IllegalArgumentException("connection counter " + counter + " outside 1.." + MAX_COUNTER);
        }
        return ((long) gateway << COUNTER_BITS) | counter;
    }

    public static int gateway(long connection) {
        return (int) (connection >>> COUNTER_BITS);
    }

    public static long counter(long connection) {
        return connection & MAX_COUNTER;
    }

    public static String format(long connection) {
        return gateway(connection) + ":" + counter(connection);
    }
}
