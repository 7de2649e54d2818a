package io.replicode.cluster;

import io.replicode.nat.CodecException;
import io.replicode.nat.Frame;
import io.replicode.nat.FrameCodec;
import io.replicode.nat.IngressEvent;
import io.replicode.replay.FrameApplier;
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
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
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
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AppStateMachine.class);

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
    private final Storage storage = new Storage();
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
    /** Writes Raft snapshot files off Ratis's apply thread (see {@link #takeSnapshot}). */
    private final java.util.concurrent.ExecutorService snapshotWriter;
    /** A Raft snapshot file written and not yet named to Ratis. */
    private volatile SingleFileSnapshotInfo prepared;
    private volatile boolean preparing;

    /**
     * @param stores the snapshot stores of the member's replicas: a live list, safe to read from any thread (a
     *               {@code CopyOnWriteArrayList}), that the member changes when it scales its replicas
     */
    public AppStateMachine(String app, ReplayLog log, List<SnapshotStore> stores, Listener listener) {
        this.app = app;
        this.log = log;
        this.applier = new FrameApplier(log);
        this.stores = stores; // live: the member adds and removes replicas (and their stores) at run time
        this.listener = listener;
        this.snapshotWriter = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "replicode-" + app + "-raft-snapshots");
            t.setDaemon(true);
            return t;
        });
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
            LOG.error(app + ": committed frame rejected: " + e.getMessage());
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
     * index (at or below the last applied one, as Ratis allows), or the previous snapshot's when nothing newer is ready.
     *
     * <p>Ratis calls this on its apply thread, and again after every applied entry while the log since the last
     * snapshot is past its threshold. So this call only looks at file names: the Raft snapshot file (the frame plus a
     * copy of the replica snapshot, often tens of MB, with the MD5 Ratis checks on install) is written by
     * {@link #snapshotWriter}, and a later call names it once it is complete. Written here, it held up every commit of
     * the app for the time of a copy, a CRC and an MD5 of the whole state (JFR: a third of the leader's samples in MD5
     * during such stalls, writes/s down to a quarter), and it read the newest replica snapshot whole on every call.
     */
    @Override
    public long takeSnapshot() {
        SingleFileSnapshotInfo previous = storage.getLatestSnapshot();
        long previousIndex = previous == null ? -1 : previous.getIndex();
        SingleFileSnapshotInfo ready = prepared;
        if (ready != null && ready.getIndex() > previousIndex) {
            storage.updateLatestSnapshot(ready);
            prepared = null;
            return ready.getIndex();
        }
        if (preparing || snapshotFrames.isEmpty()
                || snapshotFrames.lastEntry().getValue().getIndex() <= previousIndex) {
            return previousIndex; // nothing newer to name, or being written: Ratis asks again after the next entry
        }
        SnapshotStore.StoredFile newest = null;
        for (SnapshotStore store : stores) {
            SnapshotStore.StoredFile l = store.latestFile();
            if (l != null && snapshotFrames.containsKey(l.seq()) && (newest == null || l.seq() > newest.seq())) {
                newest = l;
            }
        }
        if (newest == null) {
            return previousIndex;
        }
        long seq = newest.seq();
        TermIndex at = snapshotFrames.get(seq);
        if (at.getIndex() <= previousIndex || seq < log.firstSeq() || seq > log.lastSeq()) {
            return previousIndex;
        }
        preparing = true;
        Path replica = newest.file();
        snapshotWriter.execute(() -> {
            try {
                prepared = prepare(seq, at, replica);
                snapshotFrames.headMap(seq).clear();
            } catch (IOException | RuntimeException e) {
                // The replica store may have replaced the file meanwhile; the next call tries its newer one.
                LOG.warn(app + ": Raft snapshot at frame " + seq + " not written: " + e.getMessage()
                        + ". Fix: check the disk (space, permissions) of the member's raft directory");
            } finally {
                preparing = false;
            }
        });
        return previousIndex;
    }

    /** Writes the Raft snapshot file of frame {@code seq} (log entry {@code at}) and its MD5; on the snapshot writer. */
    private SingleFileSnapshotInfo prepare(long seq, TermIndex at, Path replica) throws IOException {
        log.sync();
        byte[] frameBytes = FrameCodec.encode(log.read(seq, 1).get(0));
        File file = storage.getSnapshotFile(at.getTerm(), at.getIndex());
        MD5Hash md5 = write(file.toPath(), app, frameBytes, replica);
        MD5FileUtil.saveMD5File(file, md5);
        return new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), at);
    }

    @Override
    public void close() throws IOException {
        // A Raft snapshot file being written is finished (its thread is a daemon: it does not hold up the exit).
        snapshotWriter.shutdown();
        super.close();
    }

    /**
     * Ratis's storage of snapshot files, cleaning up old ones only after a new one was named. Ratis calls
     * {@link #cleanupOldSnapshots} after every {@link #takeSnapshot} call, and it calls that after every applied entry
     * while the log is past its snapshot threshold (until the next replica snapshot, which may be thousands of frames
     * away): each cleanup lists the directory and reads every {@code .md5} file, which JFR put at 44 % of the samples
     * of Ratis's own threads under a write load.
     */
    private static final class Storage extends SimpleStateMachineStorage {
        private long cleanedUpFor = Long.MIN_VALUE;

        @Override
        public synchronized void cleanupOldSnapshots(org.apache.ratis.statemachine.SnapshotRetentionPolicy policy)
                throws IOException {
            SingleFileSnapshotInfo latest = getLatestSnapshot();
            long index = latest == null ? -1 : latest.getIndex();
            if (index != cleanedUpFor) {
                super.cleanupOldSnapshots(policy);
                cleanedUpFor = index;
            }
        }
    }

    record Snapshot(String app, Frame frame, byte[] frameBytes, byte[] replica) {}

    /**
     * Writes a snapshot file, the replica snapshot copied from {@code replica} in pieces (never whole in memory), to a
     * temporary file that is forced and then renamed. Returns the file's MD5, computed while writing.
     */
    static MD5Hash write(Path file, String app, byte[] frameBytes, Path replica) throws IOException {
        byte[] name = app.getBytes(StandardCharsets.UTF_8);
        Frame frame = FrameCodec.decode(frameBytes);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        CRC32 crc = new CRC32();
        MessageDigest md5 = MD5FileUtil.newMD5();
        try (FileChannel in = FileChannel.open(replica, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                     StandardOpenOption.WRITE)) {
            long replicaLength = in.size();
            if (replicaLength > Integer.MAX_VALUE) {
                throw new IOException("replica snapshot " + replica + " is " + replicaLength + " bytes, over the 2 GiB a"
                        + " Raft snapshot file holds");
            }
            ByteBuffer head = ByteBuffer.allocate(MAGIC.length + 1 + 2 + name.length + 8 + 4 + frameBytes.length + 4);
            head.put(MAGIC).put((byte) VERSION).putShort((short) name.length).put(name).putLong(frame.seq())
                    .putInt(frameBytes.length).put(frameBytes).putInt((int) replicaLength).flip();
            writeAll(out, head, crc, md5);
            ByteBuffer piece = ByteBuffer.allocate(1 << 20);
            long copied = 0;
            while (copied < replicaLength) {
                piece.clear();
                int n = in.read(piece);
                if (n < 0) {
                    throw new IOException("replica snapshot " + replica + " ended after " + copied + " of " + replicaLength
                            + " bytes");
                }
                copied += n;
                piece.flip();
                writeAll(out, piece, crc, md5);
            }
            ByteBuffer tail = ByteBuffer.allocate(4).putInt((int) crc.getValue()).flip();
            md5.update(tail.array());
            while (tail.hasRemaining()) {
                out.write(tail);
            }
            out.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return MD5Hash.newInstance(md5.digest());
    }

    private static void writeAll(FileChannel out, ByteBuffer b, CRC32 crc, MessageDigest md5) throws IOException {
        crc.update(b.array(), b.position(), b.remaining());
        md5.update(b.array(), b.position(), b.remaining());
        while (b.hasRemaining()) {
            out.write(b);
        }
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

    /** Size of the newest replica snapshot on this member (0 when none): what the sequencer paces snapshots by. */
    public long newestSnapshotBytes() {
        long most = 0;
        for (SnapshotStore store : stores) {
            most = Math.max(most, store.newestBytes());
        }
        return most;
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
