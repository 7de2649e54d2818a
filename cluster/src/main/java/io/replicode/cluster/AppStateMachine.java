package io.replicode.cluster;

import io.replicode.nat.CodecException;
import io.replicode.nat.IngressEvent;
import io.replicode.replay.Frame;
import io.replicode.replay.FrameApplier;
import io.replicode.replay.FrameCodec;
import io.replicode.replay.ReplayLog;
import io.replicode.replay.SnapshotStore;
import java.io.DataInputStream;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.zip.CRC32;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;

/**
 * The Raft state machine of one app on one member: every committed log entry is one frame ({@link FrameCodec}
 * bytes), applied in commit order to the member's history through the {@link FrameApplier}.
 *
 * <p><b>Fencing.</b> A frame carries the Raft term of the leader that cut it as its epoch. A frame whose epoch differs
 * from the term of the entry that holds it was cut by an earlier leader and appended by a later one (a client
 * resend after a leader change): it is dropped as stale, so only the current leader's sequencer extends the history.
 * The reply of every entry says what became of it ({@code applied}, {@code duplicate}, {@code stale}, {@code malformed})
 * so the sequencer notices a frame that did not take.
 *
 * <p><b>Snapshots are replica snapshots.</b> Replicas snapshot at the frames that carry a {@code SnapshotRequest}
 * (the same frames on every member). {@link #takeSnapshot} names the newest such snapshot on this member as the Raft
 * snapshot, at the log index of its frame, so Raft purges the log behind it, and a member that is behind or new gets
 * it installed (Ratis streams the file and calls {@link #reinitialize}). The file, {@code sm/snapshot.<term>_<index>}
 * (plus Ratis's {@code .md5}), is, big-endian:
 * <pre>
 *   magic "RCSN" | version u8 (1) | app: u16 length + UTF-8 | frame seq u64
 *   | frame: u32 length + FrameCodec bytes | replica snapshot: u32 length + bytes (the guest machine's own format)
 *   | CRC32 of everything before it, u32
 * </pre>
 * Installing one restarts the member's log at that frame and stores the replica snapshot for each local replica;
 * then the replicas are restarted from it ({@link Listener#installed}).
 */
public final class AppStateMachine extends BaseStateMachine {
    private static final byte[] MAGIC = "RCSN".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;

    /** What the member wires to its history. Called on Ratis threads; implementations hand work off quickly. */
    public interface Listener {
        /** {@code frame} entered the history (in seq order, once each). */
        void applied(Frame frame, byte[] bytes);

        /** This member leads the group and has applied every entry before its term: it may sequence now. */
        void leaderReady(long term);

        /** The group's leader changed (to {@code leader}, null when unknown); this member may have lost leadership. */
        void leaderChanged(String leader, long term);

        /** The history was restarted from an installed snapshot at {@code seq}: replicas must restart from it. */
        void installed(long seq);
    }

    private final String app;
    private final ReplayLog log;
    private final FrameApplier applier;
    private final List<SnapshotStore> stores;
    private final Listener listener;
    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    /** Seq of each applied frame that carries a SnapshotRequest -> its log entry: where a Raft snapshot may point. */
    private final ConcurrentSkipListMap<Long, TermIndex> snapshotFrames = new ConcurrentSkipListMap<>();
    /** Gateway -> last batchSeq in the history (the sequencer continues from it). Guarded by itself. */
    private final io.replicode.nat.BatchTable batches = new io.replicode.nat.BatchTable();
    private volatile long lastTimeNs;
    private volatile long appliedFrames;
    private volatile long duplicates;
    private volatile long stale;
    private volatile long malformed;
    private volatile long rejected;
    private volatile long installs;
    private volatile String lastInstall = "";

    public AppStateMachine(String app, ReplayLog log, List<SnapshotStore> stores, Listener listener) {
        this.app = app;
        this.log = log;
        this.applier = new FrameApplier(log);
        this.stores = List.copyOf(stores);
        this.listener = listener;
        if (log.lastSeq() >= log.firstSeq()) {
            lastTimeNs = log.read(log.lastSeq(), 1).get(0).timeNs();
        }
        scanBatches(20_000);
    }

    // ------------------------------------------------------------------------------------------ lifecycle

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        getLifeCycle().startAndTransition(() -> {
            storage.init(raftStorage);
            loadNewestSnapshot(false);
        }, IOException.class);
    }

    @Override
    public void pause() {
        getLifeCycle().transition(LifeCycle.State.PAUSING);
        getLifeCycle().transition(LifeCycle.State.PAUSED);
    }

    /** After Ratis installed a snapshot from the leader into {@code sm/}: the history continues from it. */
    @Override
    public void reinitialize() throws IOException {
        getLifeCycle().transition(LifeCycle.State.STARTING);
        loadNewestSnapshot(true);
        getLifeCycle().transition(LifeCycle.State.RUNNING);
    }

    private void loadNewestSnapshot(boolean installed) throws IOException {
        SingleFileSnapshotInfo info = storage.loadLatestSnapshot();
        if (info == null) {
            return;
        }
        Snapshot s = read(info.getFile().getPath());
        if (!s.app().equals(app)) {
            throw new IOException("Raft snapshot " + info.getFile().getPath() + " belongs to app '" + s.app() + "', not '" + app
                    + "'. Fix: remove this member's raft directory; it then joins from a peer's snapshot");
        }
        snapshotFrames.put(s.frame().seq(), info.getTermIndex());
        if (log.lastSeq() < s.frame().seq()) {
            // Our history ends before the snapshot (a new or far-behind member): continue from it.
            for (SnapshotStore store : stores) {
                store.save(s.frame().seq(), s.replica());
            }
            log.restartWith(s.frame(), s.frameBytes()).join();
            synchronized (batches) {
                batches.clear();
                note(s.frame());
            }
            lastTimeNs = s.frame().timeNs();
            installs++;
            lastInstall = "snapshot at frame " + s.frame().seq() + " (" + s.replica().length + " bytes)";
            if (installed) {
                listener.installed(s.frame().seq());
            }
        }
        setLastAppliedTermIndex(info.getTermIndex());
    }

    // ------------------------------------------------------------------------------------------ applying

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        byte[] bytes = entry.getStateMachineLogEntry().getLogData().toByteArray();
        String outcome = apply(bytes, entry.getTerm(), entry.getIndex());
        updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
        return CompletableFuture.completedFuture(Message.valueOf(outcome));
    }

    /** Applies one committed entry (its bytes, term and index); returns what became of it. Package-private for tests. */
    String apply(byte[] bytes, long term, long index) {
        Frame f;
        try {
            f = FrameCodec.decode(bytes);
        } catch (CodecException e) {
            malformed++;
            return "malformed";
        }
        if (!f.app().equals(app)) {
            malformed++;
            return "malformed";
        }
        if (f.epoch() != term) {
            stale++;
            return "stale";
        }
        try {
            if (applier.apply(f, bytes) == FrameApplier.Outcome.DUPLICATE) {
                duplicates++;
                return "duplicate";
            }
        } catch (FrameApplier.GapException e) {
            // Every member sees the same committed entries, so every member rejects this one: the history stays one
            // chain, and the sequencer that cut it starts again from the history. Said, never skipped silently.
            rejected++;
            System.err.println("replicode: " + app + ": committed frame rejected: " + e.getMessage());
            return "rejected";
        }
        appliedFrames++;
        lastTimeNs = f.timeNs();
        synchronized (batches) {
            note(f);
        }
        if (f.events().contains(new IngressEvent.SnapshotRequest())) {
            snapshotFrames.put(f.seq(), TermIndex.valueOf(term, index));
        }
        listener.applied(f, bytes);
        return "applied";
    }

    private void note(Frame f) {
        batches.apply(f.events());
    }

    /** Rebuilds the batch table from the last {@code frames} frames of the history. */
    private void scanBatches(int frames) {
        long last = log.lastSeq();
        long from = Math.max(log.firstSeq(), last - frames + 1);
        synchronized (batches) {
            while (from <= last) {
                List<Frame> read = log.read(from, 1024);
                if (read.isEmpty()) {
                    break;
                }
                for (Frame f : read) {
                    note(f);
                    from = f.seq() + 1;
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------ leadership

    @Override
    public void notifyLeaderReady() {
        listener.leaderReady(currentTerm());
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId member, RaftPeerId leader) {
        listener.leaderChanged(leader == null ? null : leader.toString(), currentTerm());
    }

    /** This member's current Raft term of the group, -1 when the group is gone. */
    private long currentTerm() {
        try {
            return getServer().join().getDivision(getGroupId()).getInfo().getCurrentTerm();
        } catch (IOException e) {
            return -1;
        }
    }

    // ------------------------------------------------------------------------------------------ snapshots

    @Override
    public StateMachineStorage getStateMachineStorage() {
        return storage;
    }

    /**
     * Names the newest replica snapshot on this member as the Raft snapshot, at its frame's log index. Returns that
     * index (at or below the last applied one, as Ratis allows), or the previous snapshot's when nothing newer exists.
     */
    @Override
    public long takeSnapshot() throws IOException {
        SingleFileSnapshotInfo previous = storage.getLatestSnapshot();
        long previousIndex = previous == null ? -1 : previous.getIndex();
        Optional<SnapshotStore.Stored> newest = Optional.empty();
        for (SnapshotStore store : stores) {
            Optional<SnapshotStore.Stored> l = store.latest();
            if (l.isPresent() && snapshotFrames.containsKey(l.get().seq())
                    && (newest.isEmpty() || l.get().seq() > newest.get().seq())) {
                newest = l;
            }
        }
        if (newest.isEmpty()) {
            return previousIndex;
        }
        long seq = newest.get().seq();
        TermIndex at = snapshotFrames.get(seq);
        if (at.getIndex() <= previousIndex || seq < log.firstSeq() || seq > log.lastSeq()) {
            return previousIndex;
        }
        log.sync();
        Frame frame = log.read(seq, 1).get(0);
        byte[] frameBytes = FrameCodec.encode(frame);
        File file = storage.getSnapshotFile(at.getTerm(), at.getIndex());
        write(file.toPath(), app, frameBytes, newest.get().bytes());
        MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file);
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), at));
        snapshotFrames.headMap(seq).clear();
        return at.getIndex();
    }

    record Snapshot(String app, Frame frame, byte[] frameBytes, byte[] replica) {}

    static void write(Path file, String app, byte[] frameBytes, byte[] replica) throws IOException {
        byte[] name = app.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 1 + 2 + name.length + 8 + 4 + frameBytes.length + 4 + replica.length + 4);
        Frame frame = FrameCodec.decode(frameBytes);
        b.put(MAGIC).put((byte) VERSION).putShort((short) name.length).put(name).putLong(frame.seq())
                .putInt(frameBytes.length).put(frameBytes).putInt(replica.length).put(replica);
        CRC32 crc = new CRC32();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue()).flip();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    static Snapshot read(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        String where = "Raft snapshot " + file;
        if (all.length < MAGIC.length + 1 + 2 + 8 + 4 + 4 + 4) {
            throw new IOException(where + " is truncated (" + all.length + " bytes). Fix: remove it; the member then gets"
                    + " a snapshot from the leader");
        }
        CRC32 crc = new CRC32();
        crc.update(all, 0, all.length - 4);
        if ((int) crc.getValue() != ByteBuffer.wrap(all, all.length - 4, 4).getInt()) {
            throw new IOException(where + " fails its CRC. Fix: remove it; the member then gets a snapshot from the leader");
        }
        try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(all, 0, all.length - 4))) {
            byte[] magic = in.readNBytes(MAGIC.length);
            int version = in.readUnsignedByte();
            if (!java.util.Arrays.equals(magic, MAGIC) || version != VERSION) {
                throw new IOException(where + " is not a Replicode snapshot of version " + VERSION);
            }
            String app = new String(in.readNBytes(in.readUnsignedShort()), StandardCharsets.UTF_8);
            long seq = in.readLong();
            byte[] frameBytes = in.readNBytes(in.readInt());
            byte[] replica = in.readNBytes(in.readInt());
            Frame frame = FrameCodec.decode(frameBytes);
            if (frame.seq() != seq) {
                throw new IOException(where + " names frame " + seq + " but holds frame " + frame.seq());
            }
            return new Snapshot(app, frame, frameBytes, replica);
        } catch (CodecException e) {
            throw new IOException(where + " holds a malformed frame: " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------------------------------ for the member

    /** A copy of the batch table: gateway -> last batchSeq in the history. */
    public io.replicode.nat.BatchTable batchTable() {
        synchronized (batches) {
            return batches.copy();
        }
    }

    /** Frame time of the last frame in the history (0 before the first). */
    public long lastTimeNs() {
        return lastTimeNs;
    }

    public ReplayLog log() {
        return log;
    }

    /** What an operator sees. */
    public Map<String, Object> counters() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("appliedFrames", appliedFrames);
        m.put("duplicateFrames", duplicates);
        m.put("staleFrames", stale);
        m.put("malformedFrames", malformed);
        m.put("rejectedFrames", rejected);
        m.put("snapshotInstalls", installs);
        m.put("lastSnapshotInstall", lastInstall);
        SingleFileSnapshotInfo s = storage.getLatestSnapshot();
        m.put("raftSnapshotIndex", s == null ? -1 : s.getIndex());
        return m;
    }
}
