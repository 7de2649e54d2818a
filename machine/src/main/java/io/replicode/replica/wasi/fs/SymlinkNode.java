package io.replicode.replica.wasi.fs;

/** A symbolic link: a relative path, resolved from the directory that holds the link. */
public final class SymlinkNode extends Node {
    final String target;
    private final int targetBytes;

    SymlinkNode(long ino, long nowNs, String target) {
        super(ino, nowNs);
        this.target = target;
        this.targetBytes = Utf8.length(target);
    }

    @Override
    public int filetype() {
        return Filetype.SYMBOLIC_LINK;
    }

    /** As lstat(2): the length of the target in bytes. */
    @Override
    long size() {
        return targetBytes;
    }
}
