package io.replicode.replica.wasi.fs;

import java.util.TreeMap;

/** A directory: entries kept sorted by the UTF-8 bytes of their names, so listings are deterministic. */
public final class DirectoryNode extends Node {
    final TreeMap<String, Node> children = new TreeMap<>(Utf8::compare);
    /**
     * The directory holding this one; null for a preopen root (its parent is outside the sandbox) and for a
     * removed directory.
     */
    DirectoryNode parent;

    DirectoryNode(long ino, long nowNs, DirectoryNode parent) {
        super(ino, nowNs);
        this.parent = parent;
        this.nlink = 2;
    }

    @Override
    public int filetype() {
        return Filetype.DIRECTORY;
    }

    /** Directory sizes vary between real filesystems; programs do not rely on them, so 0. */
    @Override
    long size() {
        return 0;
    }

    /** Entries other than "." and "..". */
    public int entryCount() {
        return children.size();
    }
}
