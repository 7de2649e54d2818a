package io.replicode.launcher;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code replicode scale --app APP --replicas N}: adds replicas to a running node's app (each starts from the newest
 * snapshot of a running replica plus the log after it) or removes the newest ones, and prints each new replica's join
 * time.
 */
@Command(name = "scale", mixinStandardHelpOptions = true,
        description = {"Changes how many replicas run an app in a running node or cluster member.",
                "A new replica starts from a copy of a running replica's state and the frames after it, and is then",
                "compared with the others like any replica. Removing takes the newest replicas away (at least one stays).",
                "The count is kept across restarts until the configuration's own count changes."},
        footer = {"", "Exit status: 0 done, 2 usage, connection error or refused."})
public final class ScaleCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    AdminAccess access = new AdminAccess();

    @Spec
    CommandSpec spec;

    @Option(names = "--app", required = true, paramLabel = "APP", description = "The app to scale.")
    String app;

    @Option(names = "--replicas", required = true, paramLabel = "N", description = "How many replicas it should run.")
    int replicas;

    @Option(names = "--member", paramLabel = "HOST:PORT",
            description = "In a cluster: the member whose replicas change, as --cluster-members lists it (default: the"
                    + " member at --node).")
    String member;

    @Option(names = "--node", paramLabel = "URL", defaultValue = "http://127.0.0.1:8080",
            description = "The node's HTTP address (default: ${DEFAULT-VALUE}).")
    String node;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        AdminClient admin = access.client(node);
        String query = "replicas=" + replicas + (member == null ? "" : "&member="
                + java.net.URLEncoder.encode(member, java.nio.charset.StandardCharsets.UTF_8));
        AdminClient.Answer answer = admin.post("/admin/apps/" + app + "/scale?" + query, Duration.ofMinutes(5));
        if (answer.status() != 200) {
            throw answer.refused("scaling app '" + app + "' refused by " + admin.base(), "check the node's log");
        }
        JsonObject r = answer.json();
        JsonArray joined = r.getJsonArray("joined", new JsonArray());
        for (int i = 0; i < joined.size(); i++) {
            JsonObject j = joined.getJsonObject(i);
            out.println("replica " + j.getInteger("replica") + " added from " + j.getString("from") + ": at frame "
                    + j.getLong("appliedFrame") + " " + j.getLong("joinMs") + " ms after the request"
                    + (j.getString("parts") == null ? "" : " (" + j.getString("parts") + ")"));
        }
        for (Object removed : r.getJsonArray("removed", new JsonArray())) {
            out.println("replica " + removed + " removed");
        }
        String where = r.getString("member") == null ? "" : " on member " + r.getString("member");
        out.println("'" + app + "' runs " + r.getInteger("replicas") + " replica(s)" + where + " (was " + r.getInteger("was") + ")");
        out.flush();
        return 0;
    }
}
