package io.replicode.replica.wasi.fs;

/**
 * An inode of the {@link VirtualFileSystem}. The fd layer holds these as handles; everything that changes a
 * node goes through the filesystem, which keeps link counts, quotas and timestamps consistent.
 */
public abstract sealed class Node permits DirectoryNode, FileNode, SymlinkNode {
    final long ino;
    /** Directory entries naming this node; for a directory, 2 + its subdirectories, as on Linux. */
    int nlink;
    /** Handles the fd layer holds ({@link VirtualFileSystem#open}, {@link VirtualFileSystem#retain}). */
    int openCount;
    long atimNs;
    long mtimNs;
    long ctimNs;
    /** Set once no link and no handle remains; a released node must never be used again. */
    boolean released;

    Node(long ino, long nowNs) {
        this.ino = ino;
        this.atimNs = nowNs;
        this.mtimNs = nowNs;
        this.ctimNs = nowNs;
    }

    /** The inode number: stable for the node's life and across snapshots, so handles can name it. */
    public final long ino() {
        return ino;
    }

    /** A {@link Filetype} value. */
    public abstract int filetype();

    /** The {@code size} of its filestat. */
    abstract long size();

    /** True while some directory entry names this node; false once it is unlinked (but maybe still open). */
    public final boolean isLinked() {
        return nlink > 0;
    }

    final void touchModified(long nowNs) {
        mtimNs = nowNs;
        ctimNs = nowNs;
    }
}
