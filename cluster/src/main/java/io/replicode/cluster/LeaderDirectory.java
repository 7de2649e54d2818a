package io.replicode.cluster;

import io.replicode.nat.Addresses;
import io.replicode.nat.SequencerRoute;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Which member leads each app's Raft group, as this member knows it: the route its gateway and replicas use to reach
 * the app's sequencer ({@link #route}). A member that runs the group reads it from its own Raft server (at once when
 * Raft reports a change, and every {@value #REFRESH_MS} ms in case a report was missed); a member that does not (a
 * gateway-only member, or one not yet added to the group) asks the members that do, on {@link Addresses#leader},
 * until it knows. Members that run the group answer those questions.
 *
 * <p>A leader that is gone stays named until another is known: what is sent to it meanwhile is not acknowledged and
 * is sent again to the next one.
 */
public final class LeaderDirectory {
    static final long REFRESH_MS = 500;
    private static final long ASK_TIMEOUT_MS = 2_000;

    private final Vertx vertx;
    private final List<String> apps;
    private final Function<String, String> ownRaft;
    private final boolean answers;
    private final Map<String, String> leaders = new ConcurrentHashMap<>();
    private final Set<String> asking = ConcurrentHashMap.newKeySet();
    private long timer = -1;

    /**
     * @param ownRaft the leader this member's Raft server names for an app (a Raft peer id), or null when it names
     *                none or does not run the app's group; any thread
     * @param answers whether this member runs the apps' groups and answers other members' questions
     */
    public LeaderDirectory(Vertx vertx, List<String> apps, Function<String, String> ownRaft, boolean answers) {
        this.vertx = vertx;
        this.apps = List.copyOf(apps);
        this.ownRaft = ownRaft;
        this.answers = answers;
    }

    /** Registers the answering consumers (when this member answers) and starts following the leaders. */
    public void start() {
        if (answers) {
            for (String app : apps) {
                vertx.eventBus().<JsonObject>consumer(Addresses.leader(app), m -> {
                    String leader = ownRaft.apply(app);
                    if (leader == null) {
                        m.fail(503, "this member knows no leader of '" + app + "' now");
                    } else {
                        m.reply(new JsonObject().put("leader", leader));
                    }
                });
            }
        }
        apps.forEach(this::refresh);
        timer = vertx.setPeriodic(REFRESH_MS, id -> apps.forEach(this::refresh));
    }

    public void stop() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }

    /** This member's Raft server reports {@code leader} (a peer id; null: none) for {@code app}. Any thread. */
    public void leaderChanged(String app, String leader) {
        if (leader != null) {
            leaders.put(app, leader);
        }
    }

    /** The member that leads {@code app}'s group as far as this member knows, or null. */
    public String leaderOf(String app) {
        return leaders.get(app);
    }

    /** The route to each app's sequencer on the member named here. */
    public SequencerRoute route() {
        return SequencerRoute.toLeader(this::leaderOf);
    }

    private void refresh(String app) {
        String own = ownRaft.apply(app);
        if (own != null) {
            leaders.put(app, own);
            return;
        }
        if (!asking.add(app)) {
            return;
        }
        vertx.eventBus().<JsonObject>request(Addresses.leader(app), null, new DeliveryOptions().setSendTimeout(ASK_TIMEOUT_MS))
                .onComplete(ar -> {
                    asking.remove(app);
                    String named = ar.succeeded() && ar.result().body() != null ? ar.result().body().getString("leader") : null;
                    if (named != null && ownRaft.apply(app) == null) {
                        leaders.put(app, named);
                    }
                });
    }
}
