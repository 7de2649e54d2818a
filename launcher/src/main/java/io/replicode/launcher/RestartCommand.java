package io.replicode.launcher;

import io.replicode.node.UserError;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
        String base = node.endsWith("/") ? node.substring(0, node.length() - 1) : node;
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        long before = recoveries(http, base);
        HttpResponse<String> answer = send(http, HttpRequest.newBuilder(uri(base + "/admin/apps/" + app + "/restart"))
                .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build());
        if (answer.statusCode() != 202) {
            JsonObject body = parse(answer.body());
            throw new UserError("restart of app '" + app + "' refused by " + base + " (HTTP " + answer.statusCode() + "): "
                    + body.getString("error", answer.body().trim()), body.getString("fix", "check the node's log"));
        }
        out.println("restart of '" + app + "' requested at " + base);
        out.flush();
        long deadline = System.nanoTime() + waitSeconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            JsonObject state = appStatus(http, base);
            if (state != null && "running".equals(state.getString("state")) && state.getLong("recoveries", 0L) > before) {
                out.println("'" + app + "' restarted: " + state.getString("lastRecovery"));
                return 0;
            }
            Thread.sleep(200);
        }
        out.println("'" + app + "' was not seen running again within " + waitSeconds + " s; see " + base + "/status");
        return 1;
    }

    private long recoveries(HttpClient http, String base) {
        JsonObject state = appStatus(http, base);
        return state == null ? 0 : state.getLong("recoveries", 0L);
    }

    /** The app's entry in the node's {@code /status}, or null while the node does not answer it. */
    private JsonObject appStatus(HttpClient http, String base) {
        HttpResponse<String> r = send(http, HttpRequest.newBuilder(uri(base + "/status")).timeout(Duration.ofSeconds(10)).build());
        if (r.statusCode() != 200) {
            return null;
        }
        JsonArray apps = parse(r.body()).getJsonArray("apps", new JsonArray());
        for (int i = 0; i < apps.size(); i++) {
            JsonObject a = apps.getJsonObject(i);
            if (app.equals(a.getString("name"))) {
                return a;
            }
        }
        throw new UserError("the node at " + base + " has no app '" + app + "'", "name one of the apps in " + base + "/status");
    }

    private HttpResponse<String> send(HttpClient http, HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UserError("cannot reach the node at " + node + ": " + e, "start it with ./replicode run, or pass --node URL");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserError("interrupted while talking to " + node, "run the command again");
        }
    }

    private URI uri(String s) {
        try {
            return URI.create(s);
        } catch (IllegalArgumentException e) {
            throw new UserError("--node " + node + " is not a URL", "pass e.g. --node http://127.0.0.1:8080");
        }
    }

    private static JsonObject parse(String body) {
        try {
            return new JsonObject(body);
        } catch (RuntimeException e) {
            return new JsonObject();
        }
    }
}
