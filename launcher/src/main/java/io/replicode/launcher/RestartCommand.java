package io.replicode.launcher;

import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code replicode restart --app APP}: asks a running node to restart an app's module on the same files (a stopped
 * app serves again), then waits until the node's status shows it running.
 */
@Command(name = "restart", mixinStandardHelpOptions = true,
        description = {"Restarts an app's guest module on its files, on every replica at the same frame.",
                "A stopped app (crash loop, exit) serves again. Its files (/data) are kept; what the guest",
                "kept only in memory starts afresh, as after a process restart (the kv app keeps its keys",
                "in memory). Its open connections are reset."},
        footer = {"", "Exit status: 0 restarted, 1 requested but not seen running in time, 2 usage or connection error."})
public final class RestartCommand implements Callable<Integer> {
    @picocli.CommandLine.Mixin
    AdminAccess access = new AdminAccess();

    @Spec
    CommandSpec spec;

    @Option(names = "--app", required = true, paramLabel = "APP", description = "The app to restart.")
    String app;

    @Option(names = "--node", paramLabel = "URL", defaultValue = "http://127.0.0.1:8080",
            description = "The node's HTTP address (default: ${DEFAULT-VALUE}).")
    String node;

    @Option(names = "--wait-seconds", paramLabel = "S", defaultValue = "30",
            description = "How long to wait for the app to run again (default: ${DEFAULT-VALUE}).")
    int waitSeconds;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        AdminClient admin = access.client(node);
        long before = recoveries(admin);
        AdminClient.Answer answer = admin.post("/admin/apps/" + app + "/restart", Duration.ofSeconds(10));
        if (answer.status() != 202) {
            throw answer.refused("restart of app '" + app + "' refused by " + admin.base(), "check the node's log");
        }
        out.println("restart of '" + app + "' requested at " + admin.base());
        out.flush();
        long deadline = System.nanoTime() + waitSeconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            JsonObject state = admin.appStatus(app);
            if (state != null && state.getLong("recoveries", 0L) > before) {
                if ("running".equals(state.getString("state"))) {
                    out.println("'" + app + "' restarted: " + state.getString("lastRecovery"));
                } else {
                    // A guest that finishes at once (a client that connects, talks and exits) is stopped again before
                    // a poll sees it running: it did restart.
                    out.println("'" + app + "' restarted (" + state.getString("lastRecovery") + ") and stopped again: "
                            + state.getString("stoppedReason"));
                }
                return 0;
            }
            Thread.sleep(200);
        }
        out.println("'" + app + "' was not seen running again within " + waitSeconds + " s; see " + admin.base() + "/status");
        return 1;
    }

    private long recoveries(AdminClient admin) {
        JsonObject state = admin.appStatus(app);
        return state == null ? 0 : state.getLong("recoveries", 0L);
    }
}
