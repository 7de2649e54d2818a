package io.replicode.launcher;

import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code replicode remove-member --member HOST:PORT}: removes a cluster member (dead, or leaving for good) from every
 * app's Raft group, through a running member's admin API, so the majority is counted without it.
 */
@Command(name = "remove-member", mixinStandardHelpOptions = true,
        description = {"Removes a member from every app's Raft group of a running cluster, so the majority is",
                "counted without it (a dead member still counts until removed). Ask any live member."},
        footer = {"", "Exit status: 0 removed (or already not a member), 2 usage, connection error or refused."})
public final class RemoveMemberCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    AdminAccess access = new AdminAccess();

    @Spec
    CommandSpec spec;

    @Option(names = "--member", required = true, paramLabel = "HOST:PORT",
            description = "The member to remove, as listed in --cluster-members.")
    String member;

    @Option(names = "--node", paramLabel = "URL", defaultValue = "http://127.0.0.1:8080",
            description = "A live member's HTTP address (default: ${DEFAULT-VALUE}).")
    String node;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        AdminClient admin = access.client(node);
        AdminClient.Answer answer = admin.post("/admin/cluster/remove-member?member="
                + URLEncoder.encode(member, StandardCharsets.UTF_8), Duration.ofSeconds(90));
        if (answer.status() != 200) {
            throw answer.refused("removing " + member + " refused by " + admin.base(), "check the member's log");
        }
        JsonObject body = answer.json();
        out.println("removed " + member + " (Raft peer " + body.getString("peer") + ") from the cluster's Raft groups:");
        for (String app : body.fieldNames()) {
            if (body.getValue(app) instanceof JsonObject g) {
                out.println("  " + app + ": " + (g.containsKey("error") ? "error: " + g.getString("error")
                        : (g.getBoolean("removed", false) ? "removed" : "was not a member") + "; members now " + g.getString("members")));
            }
        }
        out.flush();
        return 0;
    }
}
