package io.replicode.replica.machine;

/**
 * What an operator sees of one guest machine.
 *
 * @param app               app name
 * @param state             NEW (no frame yet), PARKED (waiting for the next frame) or STOPPED
 * @param stopReason        why it stopped, the same on every replica; null while running
 * @param lastSeq           seq of the last applied frame (0 before the first)
 * @param engine            compiler or interpreter
 * @param waitMode          how the guest waits between frames: "asyncify" (parked in memory, snapshots
 *                          possible) or "thread" (blocked on a dedicated thread, no snapshots)
 * @param snapshotCapable   whether {@link GuestMachine#snapshot()} works for this guest
 * @param memoryPages       current linear memory size in 64 KiB pages
 * @param fuelConsumed      instructions counted since genesis
 * @param openConnections   virtual connections the guest holds or has pending
 * @param openDescriptors   open guest file descriptors, stdio included
 * @param duplicateBatches  ingress batches dropped since genesis because the same (gateway, batchSeq) was
 *                          already applied (a gateway resent it after a sequencer failover); the same on every replica
 * @param duplicateEvents   events of those batches that did not reach the guest
 * @param restarts          times the supervisor started the module afresh (after a fault, or on request)
 * @param rollbacks         faulted frames applied again without the input of the connections that caused them
 * @param connectionsCut    connections reset by those rollbacks
 * @param lastFault         the last fault (trap, fuel, exit...) with its frame, or null
 * @param socketAbi         the socket interface the module was written against: wasi-preview1, replicode or wasmedge
 * @param refusedConnects   connects refused at once because the target is not one of the app's upstreams
 * @param outboundConnections connections the guest holds to its upstreams
 */
public record GuestStatus(
        String app,
        GuestMachine.State state,
        String stopReason,
        long lastSeq,
        String engine,
        String waitMode,
        boolean snapshotCapable,
        int memoryPages,
        long fuelConsumed,
        int openConnections,
        int openDescriptors,
        long duplicateBatches,
        long duplicateEvents,
        long restarts,
        long rollbacks,
        long connectionsCut,
        String lastFault,
        String socketAbi,
        long refusedConnects,
        int outboundConnections) {}
