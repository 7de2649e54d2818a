package io.replicode.replica.wasi.fs;

/**
 * One entry of a directory listing, as WASI {@code fd_readdir} serialises it.
 *
 * @param next     the cookie that resumes the listing after this entry ({@code d_next})
 * @param ino      the entry's inode number
 * @param name     the entry's name; {@link #nameUtf8()} gives the bytes the guest receives
 * @param filetype a {@link Filetype} value
 */
public record DirEntry(long next, long ino, String name, int filetype) {
    public byte[] nameUtf8() {
        return Utf8.encode(name);
    }
}
