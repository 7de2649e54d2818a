package io.replicode.launcher.cluster;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The history of one writer's non-idempotent writes ({@code APPEND key "token;"}), and the check of a value read back:
 * every token the writer saw acknowledged is there exactly once and in the order it was written; a token whose
 * outcome the writer does not know (its connection broke before the reply) is there at most once; nothing else is
 * there. A lost write, a write applied twice, or a reordering fails the check.
 */
final class AppendHistory {
    final String key;
    private final List<String> acked = new ArrayList<>();
    private final Set<String> unknown = new LinkedHashSet<>();

    AppendHistory(String key) {
        this.key = key;
    }

    private int issued;

    /** A token never used before on this key. */
    synchronized String nextToken() {
        return key.substring(1) + ":" + (++issued);
    }

    synchronized void acked(String token) {
        acked.add(token);
    }

    synchronized void unknown(String token) {
        unknown.add(token);
    }

    synchronized int ackedCount() {
        return acked.size();
    }

    /** Told of each acknowledged write: when it was issued and acknowledged ({@link System#nanoTime}). */
    interface Acks {
        void acked(long issuedNs, long ackedNs);
    }

    /**
     * A writer: APPENDs this history's tokens to {@link #key} through the RESP ports {@code ports} on 127.0.0.1 (starting
     * with the one at {@code first}, moving to the next after an error), recording every outcome here, until
     * {@code stop}, {@code maxOps} writes or {@code deadlineNs}.
     */
    void write(List<Integer> ports, int first, int maxOps, long deadlineNs, int timeoutMs, java.util.function.BooleanSupplier stop,
               Acks acks, java.util.function.Consumer<String> errors) {
        redis.clients.jedis.Jedis jedis = null;
        int target = first;
        for (int op = 0; op < maxOps && !stop.getAsBoolean() && System.nanoTime() < deadlineNs; op++) {
            String token = nextToken();
            try {
                if (jedis == null) {
                    jedis = new redis.clients.jedis.Jedis("127.0.0.1", ports.get(target++ % ports.size()), timeoutMs);
                }
                long issuedNs = System.nanoTime();
                jedis.append(key, token + ";");
                acked(token);
                acks.acked(issuedNs, System.nanoTime());
            } catch (RuntimeException e) {
                unknown(token);
                errors.accept(e.toString());
                if (jedis != null) {
                    try {
                        jedis.close();
                    } catch (RuntimeException ignored) {
                        // already broken
                    }
                    jedis = null;
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
        if (jedis != null) {
            jedis.close();
        }
    }

    /** Problems found in {@code value} (empty when it is consistent with this history). */
    synchronized List<String> check(String value) {
        List<String> problems = new ArrayList<>();
        List<String> tokens = new ArrayList<>();
        if (value != null && !value.isEmpty()) {
            if (!value.endsWith(";")) {
                problems.add(key + ": value does not end with a whole token: ..." + value.substring(Math.max(0, value.length() - 20)));
            }
            for (String t : value.split(";")) {
                if (!t.isEmpty()) {
                    tokens.add(t);
                }
            }
        }
        Map<String, Integer> seen = new HashMap<>();
        for (String t : tokens) {
            seen.merge(t, 1, Integer::sum);
        }
        for (Map.Entry<String, Integer> e : seen.entrySet()) {
            if (e.getValue() > 1) {
                problems.add(key + ": write " + e.getKey() + " applied " + e.getValue() + " times");
            }
            if (!acked.contains(e.getKey()) && !unknown.contains(e.getKey())) {
                problems.add(key + ": " + e.getKey() + " was never written");
            }
        }
        Set<String> present = new HashSet<>(tokens);
        for (String t : acked) {
            if (!present.contains(t)) {
                problems.add(key + ": acknowledged write " + t + " is lost");
            }
        }
        List<String> ackedInValue = new ArrayList<>();
        for (String t : tokens) {
            if (acked.contains(t) && !ackedInValue.contains(t)) {
                ackedInValue.add(t);
            }
        }
        List<String> expectedOrder = new ArrayList<>(acked);
        expectedOrder.retainAll(present);
        if (!ackedInValue.equals(expectedOrder)) {
            problems.add(key + ": acknowledged writes are out of order");
        }
        return problems;
    }
}
