/**
 * The guest's virtual filesystem: an in-memory, deterministic tree behind WASI preview 1's {@code fd_*} and
 * {@code path_*} calls.
 *
 * <p>{@link io.replicode.replica.wasi.fs.VirtualFileSystem} is the entry point. The fd layer keeps the
 * {@link io.replicode.replica.wasi.fs.Node}s that {@code open} returns as its fds, and passes them back for
 * {@code fd_*} calls; path calls take the directory node behind the dir fd. To snapshot its fd table it
 * writes inode numbers and, after {@code readFrom}, finds the nodes again with {@code nodeByIno} (handle
 * counts are part of the filesystem snapshot, so it does not retain them again).
 *
 * <p>Errno choices where WASI leaves room, following Linux and wasmtime's preview1 tests:
 * <ul>
 *   <li>".." above the directory a path is resolved from, an absolute path, a symlink to an absolute
 *       path: {@code NOTCAPABLE}. The sandbox is the starting directory, as in wasmtime (cap-std). Current
 *       wasmtime answers {@code PERM} here; older releases, and this one, {@code NOTCAPABLE}.</li>
 *   <li>NUL in a path, invalid UTF-8: {@code ILSEQ}. A component over 255 bytes or a path over 4095:
 *       {@code NAMETOOLONG}. An empty path: {@code NOENT}. More than 40 symlinks: {@code LOOP}.</li>
 *   <li>{@code path_open}: a final symlink without {@code SYMLINK_FOLLOW}: {@code LOOP} (O_NOFOLLOW).
 *       {@code DIRECTORY} with {@code CREAT}, {@code EXCL} or {@code TRUNC}: {@code INVAL} (wasmtime).
 *       A directory opened to write, truncate or create: {@code ISDIR}. {@code CREAT} on a name ending in
 *       '/': {@code ISDIR}.</li>
 *   <li>{@code path_unlink_file} on a directory, ".", "..": {@code ISDIR}; on a file with a trailing
 *       slash: {@code NOTDIR}.</li>
 *   <li>{@code path_remove_directory} of "x/.": {@code INVAL}; of "x/..": {@code NOTEMPTY}; of a file or
 *       symlink: {@code NOTDIR}.</li>
 *   <li>{@code path_rename} of or onto "." or "..": {@code BUSY}; a directory into itself: {@code INVAL}.</li>
 *   <li>{@code path_link} of a directory: {@code PERM}; onto any existing name: {@code EXIST}; more than
 *       65000 links: {@code MLINK}.</li>
 *   <li>{@code path_symlink} with an empty target: {@code NOENT}; with an absolute one: {@code NOTCAPABLE}.</li>
 *   <li>Growing past the byte quota: {@code NOSPC}, and nothing is written (no partial writes). Past the
 *       inode limit: {@code DQUOT}. Past the file size limit: {@code FBIG}, also for the whole write,
 *       where Linux would write a prefix.</li>
 * </ul>
 */
package io.replicode.replica.wasi.fs;
