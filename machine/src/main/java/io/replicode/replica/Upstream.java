package io.replicode.replica;

import java.util.List;
import java.util.regex.Pattern;

/**
 * A service an app may connect to, as its configuration lists it: {@code host:port}, the host an IPv4 address or a
 * DNS name. The guest never resolves a name itself: a name gets a virtual address, the same on every replica
 * ({@link #virtualAddress}), and the host that opens the real connection resolves it and records what it found.
 *
 * @param host an IPv4 address in dotted form, or a host name
 * @param port 1..65535
 */
public record Upstream(String host, int port) {
    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
    private static final Pattern NAME = Pattern.compile("(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");

    /** The first virtual address given to named upstreams (198.18.0.0/15 is set aside for tests, RFC 2544). */
    static final int FIRST_VIRTUAL = (198 << 24) | (18 << 16) | 1;

    /** Parses {@code host:port}; throws IllegalArgumentException saying what is wrong. */
    public static Upstream parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("upstream '" + text + "' is not host:port (e.g. 127.0.0.1:5432 or api.example.com:443)");
        }
        String host = text.substring(0, colon);
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("upstream '" + text + "' has port '" + text.substring(colon + 1) + "', not 1..65535");
        }
        if (!IPV4.matcher(host).matches() && (!NAME.matcher(host).matches() || host.chars().allMatch(c -> c == '.' || Character.isDigit(c)))) {
            throw new IllegalArgumentException("upstream '" + text + "' names host '" + host + "', neither an IPv4 address nor a host name");
        }
        return new Upstream(host.toLowerCase(java.util.Locale.ROOT), port);
    }

    /** Whether the host is an IPv4 address rather than a name. */
    public boolean literal() {
        return IPV4.matcher(host).matches();
    }

    /** The IPv4 address (as an int) the guest uses for this upstream: its own for a literal, a virtual one for a name. */
    public static int virtualAddress(List<Upstream> all, int index) {
        Upstream u = all.get(index);
        if (u.literal()) {
            int a = 0;
            for (String part : u.host.split("\\.")) {
                a = (a << 8) | Integer.parseInt(part);
            }
            return a;
        }
        List<String> names = new java.util.ArrayList<>();
        for (Upstream x : all) {
            if (!x.literal() && !names.contains(x.host)) {
                names.add(x.host);
            }
        }
        return FIRST_VIRTUAL + names.indexOf(u.host);
    }

    /** The upstream a guest reaches by connecting to {@code address:port}, or null when none is listed. */
    public static Upstream reachedBy(List<Upstream> all, int address, int port) {
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).port == port && virtualAddress(all, i) == address) {
                return all.get(i);
            }
        }
        return null;
    }

    /** The guest-visible address of host name {@code name}, or null when no upstream has that name. */
    public static Integer addressOf(List<Upstream> all, String name) {
        String n = name.toLowerCase(java.util.Locale.ROOT);
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).host.equals(n)) {
                return virtualAddress(all, i);
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return host + ":" + port;
    }
}
