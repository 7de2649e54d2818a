package io.replicode.launcher.embedded;

import io.replicode.node.ClusterNode;
import io.replicode.launcher.ReplicodeCommand;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.machine.GuestMachine;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A cluster member with one injected fault: the first machine its replicas make has a memory limit of
 * {@value #PAGES} pages (kv starts with 21), where every other replica has the app's. It behaves like the others
 * until the guest needs more memory (a large value); from that frame on its state differs. Machines made later (the
 * rebuild) are right. Run as a member's main class by {@code ClusterDivergenceTest}; the arguments are the CLI's.
 */
public final class DivergingMember {
    static final int PAGES = 24;

    private DivergingMember() {}

    public static void main(String[] args) {
        AtomicBoolean perturbed = new AtomicBoolean();
        ClusterNode.useMachines((app, replica) -> (module, config) -> {
            if (perturbed.compareAndSet(false, true)) {
                GuestLimits l = config.limits();
                return GuestMachine.create(module, config.withLimits(new GuestLimits(PAGES, l.fuelPerFrame(), l.callDepth(),
                        l.fsQuotaBytes(), l.fsMaxInodes(), l.maxOpenFds(), l.receiveBufferBytes(), l.sendWindowBytes(), l.listenBacklog(),
                        l.asyncifyBufferBytes(), l.maxLogBytesPerFrame())));
            }
            return GuestMachine.create(module, config);
        });
        ReplicodeCommand.main(args);
    }
}
