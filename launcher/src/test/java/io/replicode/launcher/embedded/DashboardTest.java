package io.replicode.launcher.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.replicode.node.config.Operations;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * The dashboard at {@code /ui} in a real browser (Debian's headless Chromium, which runs its script): it lists the
 * apps, a row per replica with its frame and agreement, and the app's frame count grows after traffic; with an admin
 * token it shows nothing until {@code /ui?token=} was opened once, and then everything.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class DashboardTest {
    @TempDir
    Path tmp;

    private static boolean hasChromium() {
        try {
            return new ProcessBuilder("sh", "-c", "command -v chromium").start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    /** The page as the browser built it, after its script ran for a few (virtual) seconds; it must be the dashboard. */
    private String render(String url) throws Exception {
        String dom = dump(url);
        assertTrue(dom.contains("<h1>Replicode</h1>"), "the page loaded: " + dom);
        return dom;
    }

    /** What the browser shows at {@code url}. */
    private String dump(String url) throws Exception {
        Process p = new ProcessBuilder("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--user-data-dir=" + tmp.resolve("chromium"), "--virtual-time-budget=3000", "--dump-dom", url)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "chromium ended");
        return dom;
    }

    private static long frames(String dom) {
        Matcher m = Pattern.compile("id=\"frames-kv\">(\\d+)<").matcher(dom);
        assertTrue(m.find(), "the kv row shows its frames: " + dom);
        return Long.parseLong(m.group(1));
    }

    private static int replicaRows(String dom, String app) {
        Matcher m = Pattern.compile("<tr class=\"replica-row\"><td>" + app + "</td><td>\\d+</td>").matcher(dom);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    @Test
    void the_dashboard_lists_apps_and_replicas_and_its_frame_count_moves_with_traffic() throws Exception {
        assumeTrue(hasChromium(), "needs chromium (.ci/run installs it)");
        try (KvNode node = new KvNode(tmp.resolve("data"))) {
            String first = render(node.url() + "/ui");
            assertTrue(first.contains("id=\"app-kv\"") && first.contains(">running<"), first);
            assertEquals(3, replicaRows(first, "kv"), first);
            assertTrue(first.contains(">agrees<"), "replicas agree: " + first);
            long before = frames(first);
            try (Jedis j = node.kv()) {
                for (int i = 0; i < 50; i++) {
                    j.set("d" + i, "v");
                }
            }
            node.replicasAgree(3, null);
            long after = frames(render(node.url() + "/ui/"));
            assertTrue(after >= before + 1, "frames " + before + " then " + after);
        }
    }

    @Test
    void with_an_admin_token_the_dashboard_shows_data_once_the_token_was_given() throws Exception {
        assumeTrue(hasChromium(), "needs chromium (.ci/run installs it)");
        try (KvNode node = new KvNode(tmp.resolve("data"), 3, new Operations("dash-token"))) {
            String locked = render(node.url() + "/ui/");
            assertTrue(locked.contains("needs its admin token") && !locked.contains("id=\"app-kv\""), locked);
            String wrong = dump(node.url() + "/ui?token=nope");
            assertTrue(wrong.contains("that is not the admin token") && !wrong.contains("id=\"app-kv\""), wrong);
            String open = render(node.url() + "/ui?token=dash-token");
            assertTrue(open.contains("id=\"app-kv\"") && replicaRows(open, "kv") == 3, open);
        }
    }
}
