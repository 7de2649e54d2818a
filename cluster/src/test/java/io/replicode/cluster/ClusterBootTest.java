package io.replicode.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.buffer.Buffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ClusterBootTest {

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void three_members_form_one_cluster_with_one_event_bus() {
        try (TestCluster cluster = TestCluster.start(3)) {
            System.out.println("formation: join times (ms) of members 1..3 in start order: " + cluster.joinMs());
            for (int i = 0; i < 3; i++) {
                assertEquals(3, cluster.member(i).clusterSize());
                assertEquals("replicode", cluster.hz(i).getConfig().getClusterName());
            }
            cluster.member(2).vertx().eventBus().<Buffer>consumer("replicode.test.echo", m -> m.reply(m.body()));
            TestCluster.awaitTrue(() -> {
                try {
                    Buffer reply = TestCluster.await(cluster.member(0).vertx().eventBus()
                            .<Buffer>request("replicode.test.echo", Buffer.buffer("ping")).map(m -> m.body()), Duration.ofSeconds(2));
                    return reply.toString().equals("ping");
                } catch (RuntimeException | AssertionError e) {
                    return false; // the registration may not have reached member 0 yet
                }
            }, Duration.ofSeconds(10), "a request from member 1 answered by member 3 over the clustered event bus");
        }
    }
}
