package io.replicode.replay;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Snapshots of one replica, stored beside the log: {@code <dir>/<seq, 20 digits>.snap}, each written to
 * a temporary file, forced, then renamed, so a crash leaves either the old set or the new one. The bytes
 * are the guest machine's own checksummed snapshot format; this store only names and keeps them.
 */
public final class SnapshotStore {
    /** A stored snapshot: the frame it was taken after, and its bytes. */
    public record Stored(long seq, byte[] bytes) {}

    private final Path dir;
    private final int keep;
    /** Size of the newest snapshot stored (0 when none). */
    private volatile long newestBytes;

    /** A store in {@code dir} keeping the newest {@code keep} snapshots. */
    public SnapshotStore(Path dir, int keep) {
        if (keep < 1) {
            throw new IllegalArgumentException("keep at least one snapshot, got " + keep);
        }
        this.dir = dir;
        this.keep = keep;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("snapshot directory `" + dir + "` cannot be created", e);
        }
        StoredFile newest = latestFile();
        if (newest != null) {
            try {
                newestBytes = Files.size(newest.file());
            } catch (IOException e) {
                newestBytes = 0; // gone meanwhile: unknown until the next save
            }
        }
    }

    /** Stores the snapshot taken after frame {@code seq}, then removes all but the newest {@code keep}. */
    public void save(long seq, byte[] bytes) {
        Path target = dir.resolve(String.format("%020d.snap", seq));
        Path tmp = dir.resolve(target.getFileName() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            newestBytes = bytes.length;
            List<Path> all = list();
            for (int i = 0; i < all.size() - keep; i++) {
                Files.deleteIfExists(all.get(i));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("snapshot save to `" + target + "` failed: " + e.getMessage(), e);
        }
    }

    /** Size in bytes of the newest snapshot stored (0 when there is none); cheap, any thread. */
    public long newestBytes() {
        return newestBytes;
    }

    /** The directory the snapshots are kept in. */
    public Path directory() {
        return dir;
    }

    /** The newest snapshot, if any. */
    public Optional<Stored> latest() {
        List<Path> all = list();
        if (all.isEmpty()) {
            return Optional.empty();
        }
        Path p = all.get(all.size() - 1);
        try {
            return Optional.of(new Stored(seqOf(p), Files.readAllBytes(p)));
        } catch (IOException e) {
            throw new UncheckedIOException("snapshot `" + p + "` cannot be read", e);
        }
    }

    /**
     * The newest snapshot's seq and file, without reading it (null when there is none). The file may be deleted by a
     * later {@link #save} that pushes it out of the newest {@code keep}.
     */
    public StoredFile latestFile() {
        List<Path> all = list();
        if (all.isEmpty()) {
            return null;
        }
        Path p = all.get(all.size() - 1);
        return new StoredFile(seqOf(p), p);
    }

    /** A stored snapshot's seq and file. */
    public record StoredFile(long seq, Path file) {}

    /** Seq of the oldest snapshot kept, or 0 when there is none: the log must keep every frame after it. */
    public long oldestSeq() {
        List<Path> all = list();
        return all.isEmpty() ? 0 : seqOf(all.get(0));
    }

    /** Deletes a snapshot that turned out unusable (so the next start does not trip on it again). */
    public void discard(long seq) {
        try {
            Files.deleteIfExists(dir.resolve(String.format("%020d.snap", seq)));
        } catch (IOException e) {
            throw new UncheckedIOException("snapshot " + seq + " in `" + dir + "` cannot be deleted", e);
        }
    }

    private List<Path> list() {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("\\d{20}\\.snap")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("snapshot directory `" + dir + "` cannot be listed", e);
        }
    }

    private static long seqOf(Path p) {
        return Long.parseLong(p.getFileName().toString().substring(0, 20));
    }
}
