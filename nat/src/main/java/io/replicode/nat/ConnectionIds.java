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
