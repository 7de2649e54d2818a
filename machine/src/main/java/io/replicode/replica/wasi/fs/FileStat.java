package io.replicode.replica.wasi.fs;

/** The fields of a WASI {@code filestat}, in its order; {@code filetype} is a {@link Filetype} value. */
public record FileStat(long dev, long ino, int filetype, long nlink, long size, long atimNs, long mtimNs,
                       long ctimNs) {}
