package io.replicode.replica.wasi.fs;

import static io.replicode.replica.wasi.fs.FsTestSupport.CREAT;
import static io.replicode.replica.wasi.fs.FsTestSupport.DIRECTORY;
import static io.replicode.replica.wasi.fs.FsTestSupport.FOLLOW;
import static io.replicode.replica.wasi.fs.FsTestSupport.assertErrno;
import static io.replicode.replica.wasi.fs.FsTestSupport.createFile;
import static io.replicode.replica.wasi.fs.FsTestSupport.readPath;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.replicode.replica.wasi.Errno;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class PathResolutionTest {
    private final FsTestSupport.Clock clock = new FsTestSupport.Clock();
    private final VirtualFileSystem fs = FsTestSupport.newFs(clock);
    private final DirectoryNode data = fs.preopen("/data");

    @Test
    void dotdot_above_preopen_is_not_capable() {
        createFile(fs, fs.preopen("/tmp"), "secret", "x");
        assertErrno(Errno.NOTCAPABLE, () -> fs.stat(data, 0, ".."));
        assertErrno(Errno.NOTCAPABLE, () -> fs.open(data, 0, "../tmp/secret", 0, false));
        fs.createDirectory(data, "sub");
        assertErrno(Errno.NOTCAPABLE, () -> fs.stat(data, 0, "sub/../../tmp"));
    }

    @Test
    void dotdot_within_the_preopen_resolves() {
        fs.createDirectory(data, "dir");
        fs.createDirectory(data, "dir/nested");
        createFile(fs, data, "dir/nested/file", "hello");
        // The path wasmtime's interesting_paths test opens.
        assertEquals("hello", readPath(fs, data, "dir/.//nested/../../dir/nested/../nested///./file"));
    }

    @Test
    void dotdot_above_a_directory_fd_is_not_capable_like_wasmtime() {
        // A directory fd is a capability for its subtree only (cap-std), even below a preopen.
        fs.createDirectory(data, "sub");
        createFile(fs, data, "sibling", "x");
        DirectoryNode sub = (DirectoryNode) fs.open(data, 0, "sub", DIRECTORY, false);
        assertErrno(Errno.NOTCAPABLE, () -> fs.stat(sub, 0, "../sibling"));
        assertEquals(Filetype.DIRECTORY, fs.stat(sub, 0, ".").filetype());
    }

    @Test
    void absolute_path_is_not_capable() {
        fs.createDirectory(data, "dir");
        assertErrno(Errno.NOTCAPABLE, () -> fs.stat(data, 0, "/dir"));
        assertErrno(Errno.NOTCAPABLE, () -> fs.open(data, 0, "/data/dir", 0, false));
        assertErrno(Errno.NOTCAPABLE, () -> fs.createDirectory(data, "/x"));
    }

    @Test
    void empty_path_is_noent() {
        assertErrno(Errno.NOENT, () -> fs.stat(data, 0, ""));
    }

    @Test
    void symlink_loop_is_loop() {
        fs.symlink("loop", data, "loop");
        assertErrno(Errno.LOOP, () -> fs.stat(data, FOLLOW, "loop"));
        fs.symlink("b", data, "a");
        fs.symlink("a", data, "b");
        assertErrno(Errno.LOOP, () -> fs.stat(data, 0, "a/x"));
        // Not followed, the link itself is there.
        assertEquals(Filetype.SYMBOLIC_LINK, fs.stat(data, 0, "loop").filetype());
    }

    @Test
    void forty_symlink_expansions_resolve_and_the_forty_first_is_loop() {
        createFile(fs, data, "l0", "end");
        for (int i = 1; i <= 41; i++) {
            fs.symlink("l" + (i - 1), data, "l" + i);
        }
        assertEquals("end", readPath(fs, data, "l40"));
        assertErrno(Errno.LOOP, () -> fs.stat(data, FOLLOW, "l41"));
    }

    @Test
    void intermediate_symlinks_are_followed_and_the_last_only_with_the_flag() {
        fs.createDirectory(data, "real");
        createFile(fs, data, "real/f", "via link");
        fs.symlink("real", data, "dirlink");
        fs.symlink("f", data, "real/flink");
        assertEquals("via link", readPath(fs, data, "dirlink/f"));
        assertEquals(Filetype.SYMBOLIC_LINK, fs.stat(data, 0, "dirlink/flink").filetype());
        assertEquals(Filetype.REGULAR_FILE, fs.stat(data, FOLLOW, "dirlink/flink").filetype());
        // A trailing slash follows a final symlink even without the flag, as on Linux.
        assertEquals(Filetype.DIRECTORY, fs.stat(data, 0, "dirlink/").filetype());
    }

    @Test
    void absolute_symlink_target_is_not_capable() {
        assertErrno(Errno.NOTCAPABLE, () -> fs.symlink("/data/x", data, "abs"));
        assertErrno(Errno.NOENT, () -> fs.stat(data, 0, "abs")); // nothing was created
    }

    @Test
    void symlink_climbing_above_the_root_is_not_capable() {
        fs.createDirectory(data, "d");
        fs.symlink("../../tmp", data, "d/escape");
        assertErrno(Errno.NOTCAPABLE, () -> fs.stat(data, FOLLOW, "d/escape"));
        assertErrno(Errno.NOTCAPABLE, () -> fs.stat(data, 0, "d/escape/x"));
        // The same link may point within the root: "../x" from d is fine.
        createFile(fs, data, "x", "inside");
        fs.symlink("../x", data, "d/up");
        assertEquals("inside", readPath(fs, data, "d/up"));
    }

    @Test
    void file_used_as_directory_is_notdir() {
        createFile(fs, data, "file", "x");
        assertErrno(Errno.NOTDIR, () -> fs.stat(data, 0, "file/x"));
        assertErrno(Errno.NOTDIR, () -> fs.open(data, 0, "file/x", CREAT, true));
        assertErrno(Errno.NOTDIR, () -> fs.createDirectory(data, "file/sub"));
    }

    @Test
    void trailing_slash_on_a_file_is_notdir_and_on_a_directory_is_fine() {
        createFile(fs, data, "file", "x");
        fs.createDirectory(data, "dir");
        assertErrno(Errno.NOTDIR, () -> fs.open(data, 0, "file/", 0, false));
        assertErrno(Errno.NOTDIR, () -> fs.open(data, 0, "file///", 0, false));
        assertEquals(Filetype.DIRECTORY, fs.stat(data, 0, "dir///").filetype());
    }

    @Test
    void missing_component_is_noent() {
        assertErrno(Errno.NOENT, () -> fs.stat(data, 0, "nope/x"));
        assertErrno(Errno.NOENT, () -> fs.stat(data, 0, "nope"));
    }

    @Test
    void name_longer_than_255_bytes_is_nametoolong() {
        String name255 = "n".repeat(255);
        fs.createDirectory(data, name255);
        assertErrno(Errno.NAMETOOLONG, () -> fs.createDirectory(data, "n".repeat(256)));
        // 128 two-byte characters are 256 bytes: the limit is in bytes, not characters.
        assertErrno(Errno.NAMETOOLONG, () -> fs.createDirectory(data, "é".repeat(128)));
        assertErrno(Errno.NAMETOOLONG, () -> fs.stat(data, 0, ("a/").repeat(2048)));
    }

    @Test
    void nul_in_path_is_ilseq() {
        createFile(fs, data, "file", "x");
        // wasmtime: "dir/nested/file\0" -> ILSEQ
        assertErrno(Errno.ILSEQ, () -> fs.open(data, 0, "file\0", 0, false));
        assertErrno(Errno.ILSEQ, () -> fs.symlink("a\0b", data, "l"));
    }

    @Test
    void invalid_utf8_from_the_guest_is_ilseq() {
        byte[] bad = {'a', (byte) 0xC3, '/', 'b'};
        assertErrno(Errno.ILSEQ, () -> Utf8.decodePath(bad, 0, bad.length, "path_open"));
        byte[] good = "é/b".getBytes(StandardCharsets.UTF_8);
        assertEquals("é/b", Utf8.decodePath(good, 0, good.length, "path_open"));
    }

    @Test
    void resolution_from_a_subdirectory_sees_the_same_nodes() {
        fs.createDirectory(data, "a");
        FileNode f = createFile(fs, data, "a/f", "x");
        DirectoryNode a = (DirectoryNode) fs.open(data, 0, "a", DIRECTORY, false);
        assertSame(f, fs.open(a, 0, "./f", 0, false));
    }
}
