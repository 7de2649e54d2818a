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
        description = {"Changes how many replicas run an app in a running node.",
                "A new replica starts from a running replica's newest snapshot and the log after it, and is then",
                "compared with the others like any replica. Removing takes the newest replicas away (at least one stays)."},
        footer = {"", "Exit status: 0 done, 2 usage, connection error or refused."})
public final class ScaleCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--app", required = true, paramLabel = "APP", description = "The app to scale.")
    String app;

    @Option(names = "--replicas", required = true, paramLabel = "N", description = "How many replicas it should run.")
    int replicas;

    @Option(names = "--node", paramLabel = "URL", defaultValue = "http://127.0.0.1:8080",
            description = "The node's HTTP address (default: ${DEFAULT-VALUE}).")
    String node;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        AdminClient admin = new AdminClient(node);
        AdminClient.Answer answer = admin.post("/admin/apps/" + app + "/scale?replicas=" + replicas, Duration.ofMinutes(5));
        if (answer.status() != 200) {
            throw answer.refused("scaling app '" + app + "' refused by " + admin.base(), "check the node's log");
        }
        JsonObject r = answer.json();
        JsonArray joined = r.getJsonArray("joined", new JsonArray());
        for (int i = 0; i < joined.size(); i++) {
            JsonObject j = joined.getJsonObject(i);
            out.println("replica " + j.getInteger("replica") + " added from " + j.getString("from") + ": at frame "
                    + j.getLong("appliedFrame") + " " + j.getLong("joinMs") + " ms after the request");
        }
        for (Object removed : r.getJsonArray("removed", new JsonArray())) {
            out.println("replica " + removed + " removed");
        }
        out.println("'" + app + "' runs " + r.getInteger("replicas") + " replica(s) (was " + r.getInteger("was") + ")");
        out.flush();
        return 0;
    }
}
