package io.replicode.replica.wasi.fs;

import static io.replicode.replica.wasi.fs.FsTestSupport.CREAT;
import static io.replicode.replica.wasi.fs.FsTestSupport.DIRECTORY;
import static io.replicode.replica.wasi.fs.FsTestSupport.EXCL;
import static io.replicode.replica.wasi.fs.FsTestSupport.FOLLOW;
import static io.replicode.replica.wasi.fs.FsTestSupport.TRUNC;
import static io.replicode.replica.wasi.fs.FsTestSupport.assertErrno;
import static io.replicode.replica.wasi.fs.FsTestSupport.assertInvariants;
import static io.replicode.replica.wasi.fs.FsTestSupport.createFile;
import static io.replicode.replica.wasi.fs.FsTestSupport.readAll;
import static io.replicode.replica.wasi.fs.FsTestSupport.readPath;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.replica.wasi.Errno;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class VirtualFileSystemTest {
    private final FsTestSupport.Clock clock = new FsTestSupport.Clock();
    private final VirtualFileSystem fs = FsTestSupport.newFs(clock);
    private final DirectoryNode data = fs.preopen("/data");

    @AfterEach
    void structureStaysConsistent() {
        assertInvariants(fs);
    }

    // ---- Preopens and inodes ---------------------------------------------------------------------

    @Test
    void preopens_keep_declared_order_and_take_the_first_inodes() {
        List<Preopen> preopens = fs.preopens();
        assertEquals(List.of("/data", "/tmp"), preopens.stream().map(Preopen::name).toList());
        assertEquals(1, preopens.get(0).root().ino());
        assertEquals(2, preopens.get(1).root().ino());
        assertThrows(IllegalArgumentException.class, () -> fs.preopen("/etc"));
        assertThrows(IllegalArgumentException.class,
                () -> new VirtualFileSystem(List.of("/a", "/a"), FsLimits.defaults(), clock));
    }

    @Test
    void inodes_are_numbered_in_creation_order_and_never_reused() {
        fs.createDirectory(data, "d");
        FileNode f = createFile(fs, data, "f", "");
        fs.symlink("f", data, "l");
        assertEquals(3, fs.stat(data, 0, "d").ino());
        assertEquals(4, f.ino());
        assertEquals(5, fs.stat(data, 0, "l").ino());
        fs.unlinkFile(data, "f");
        assertEquals(6, createFile(fs, data, "g", "").ino());
        assertEquals(VirtualFileSystem.DEV, fs.stat(data, 0, "g").dev());
    }

    // ---- path_open -------------------------------------------------------------------------------

    @Test
    void open_creat_excl_on_existing_is_exist() {
        createFile(fs, data, "f", "x");
        assertErrno(Errno.EXIST, () -> fs.open(data, 0, "f", CREAT | EXCL, true));
        fs.createDirectory(data, "d");
        assertErrno(Errno.EXIST, () -> fs.open(data, 0, "d", CREAT | EXCL, true));
        fs.symlink("nowhere", data, "dangling");
        assertErrno(Errno.EXIST, () -> fs.open(data, FOLLOW, "dangling", CREAT | EXCL, true));
    }

    @Test
    void open_missing_without_creat_is_noent() {
        assertErrno(Errno.NOENT, () -> fs.open(data, 0, "missing", 0, false));
    }

    @Test
    void open_creat_on_existing_file_opens_it() {
        FileNode f = createFile(fs, data, "f", "keep");
        Node again = fs.open(data, 0, "f", CREAT, true);
        assertSame(f, again);
        assertEquals("keep", readAll(fs, f));
        fs.close(again);
    }

    @Test
    void open_directory_for_writing_or_truncation_is_isdir() {
        fs.createDirectory(data, "d");
        assertErrno(Errno.ISDIR, () -> fs.open(data, 0, "d", 0, true));
        assertErrno(Errno.ISDIR, () -> fs.open(data, 0, "d", TRUNC, false));
        assertErrno(Errno.ISDIR, () -> fs.open(data, 0, "d", CREAT, false));
        assertErrno(Errno.ISDIR, () -> fs.open(data, 0, "new/", CREAT, true));
        createFile(fs, data, "f", "");
        assertErrno(Errno.ISDIR, () -> fs.open(data, 0, "f/", CREAT | EXCL, true));
        Node d = fs.open(data, 0, "d", DIRECTORY, false);
        assertEquals(Filetype.DIRECTORY, d.filetype());
        fs.close(d);
    }

    @Test
    void open_file_with_directory_flag_is_notdir() {
        createFile(fs, data, "f", "x");
        assertErrno(Errno.NOTDIR, () -> fs.open(data, 0, "f", DIRECTORY, false));
    }

    @Test
    void open_directory_flag_with_creat_excl_or_trunc_is_inval() {
        assertErrno(Errno.INVAL, () -> fs.open(data, 0, "d", DIRECTORY | CREAT, false));
        assertErrno(Errno.INVAL, () -> fs.open(data, 0, "d", DIRECTORY | TRUNC, false));
        assertErrno(Errno.INVAL, () -> fs.open(data, 0, "d", 16, false));
        assertErrno(Errno.INVAL, () -> fs.open(data, 2, "d", 0, false));
    }

    @Test
    void open_symlink_without_follow_is_loop_as_with_o_nofollow() {
        createFile(fs, data, "target", "x");
        fs.symlink("target", data, "link");
        assertErrno(Errno.LOOP, () -> fs.open(data, 0, "link", 0, false));
        assertErrno(Errno.LOOP, () -> fs.open(data, 0, "link", CREAT, true));
        assertEquals("x", readPath(fs, data, "link"));
    }

    @Test
    void open_creat_through_a_dangling_symlink_creates_its_target() {
        fs.symlink("made", data, "link");
        Node n = fs.open(data, FOLLOW, "link", CREAT, true);
        fs.close(n);
        assertEquals(Filetype.REGULAR_FILE, fs.stat(data, 0, "made").filetype());
    }

    @Test
    void open_trunc_empties_the_file_and_sets_mtime() {
        createFile(fs, data, "f", "content");
        long t = clock.advance(50);
        FileNode f = (FileNode) fs.open(data, 0, "f", TRUNC, true);
        assertEquals(0, f.size());
        assertEquals(t, fs.stat(f).mtimNs());
        assertEquals(0, fs.usedBytes());
        fs.close(f);
    }

    // ---- Directories -----------------------------------------------------------------------------

    @Test
    void create_directory_twice_is_exist_and_in_a_missing_parent_noent() {
        fs.createDirectory(data, "d");
        assertErrno(Errno.EXIST, () -> fs.createDirectory(data, "d"));
        assertErrno(Errno.EXIST, () -> fs.createDirectory(data, "."));
        assertErrno(Errno.NOENT, () -> fs.createDirectory(data, "missing/d"));
        fs.createDirectory(data, "e/"); // a trailing slash is allowed for mkdir
        assertEquals(Filetype.DIRECTORY, fs.stat(data, 0, "e").filetype());
    }

    @Test
    void directory_nlink_counts_subdirectories() {
        fs.createDirectory(data, "d");
        fs.createDirectory(data, "d/a");
        fs.createDirectory(data, "d/b");
        createFile(fs, data, "d/f", "");
        assertEquals(4, fs.stat(data, 0, "d").nlink());
        assertEquals(3, fs.stat(data, 0, ".").nlink());
        fs.removeDirectory(data, "d/a");
        assertEquals(3, fs.stat(data, 0, "d").nlink());
    }

    @Test
    void remove_directory_errors_match_linux() {
        fs.createDirectory(data, "d");
        createFile(fs, data, "d/f", "");
        assertErrno(Errno.NOTEMPTY, () -> fs.removeDirectory(data, "d"));
        assertErrno(Errno.NOTDIR, () -> fs.removeDirectory(data, "d/f"));
        assertErrno(Errno.NOTDIR, () -> fs.removeDirectory(data, "d/f/"));
        assertErrno(Errno.NOENT, () -> fs.removeDirectory(data, "nope"));
        assertErrno(Errno.INVAL, () -> fs.removeDirectory(data, "d/."));
        assertErrno(Errno.NOTEMPTY, () -> fs.removeDirectory(data, "d/.."));
        fs.symlink("d", data, "dl");
        assertErrno(Errno.NOTDIR, () -> fs.removeDirectory(data, "dl"));
        fs.unlinkFile(data, "d/f");
        fs.removeDirectory(data, "d");
        assertErrno(Errno.NOENT, () -> fs.stat(data, 0, "d"));
    }

    @Test
    void removed_directory_still_open_lists_nothing_and_takes_no_entries() {
        fs.createDirectory(data, "d");
        DirectoryNode d = (DirectoryNode) fs.open(data, 0, "d", DIRECTORY, false);
        fs.removeDirectory(data, "d");
        assertEquals(List.of(), fs.readdir(d, 0, 10));
        assertErrno(Errno.NOENT, () -> fs.open(d, 0, "new", CREAT, true));
        assertErrno(Errno.NOENT, () -> fs.createDirectory(d, "sub"));
        assertEquals(0, fs.stat(d).nlink());
        int inodes = fs.usedInodes();
        fs.close(d);
        assertEquals(inodes - 1, fs.usedInodes());
        assertThrows(IllegalStateException.class, () -> fs.readdir(d, 0, 10));
    }

    // ---- Unlink and link -------------------------------------------------------------------------

    @Test
    void unlink_directory_is_isdir_like_linux() {
        fs.createDirectory(data, "d");
        assertErrno(Errno.ISDIR, () -> fs.unlinkFile(data, "d"));
        assertErrno(Errno.ISDIR, () -> fs.unlinkFile(data, "d/"));
        assertErrno(Errno.ISDIR, () -> fs.unlinkFile(data, "."));
        createFile(fs, data, "f", "");
        assertErrno(Errno.NOTDIR, () -> fs.unlinkFile(data, "f/"));
        assertErrno(Errno.NOENT, () -> fs.unlinkFile(data, "missing"));
    }

    @Test
    void unlink_removes_a_symlink_not_its_target() {
        createFile(fs, data, "t", "x");
        fs.symlink("t", data, "l");
        fs.unlinkFile(data, "l");
        assertEquals("x", readPath(fs, data, "t"));
        assertErrno(Errno.NOENT, () -> fs.stat(data, 0, "l"));
    }

    @Test
    void hard_links_share_content_and_count_links() {
        FileNode f = createFile(fs, data, "f", "shared");
        fs.createDirectory(data, "sub");
        long t = clock.advance(10);
        fs.link(data, 0, "f", data, "sub/g");
        assertEquals(2, fs.stat(f).nlink());
        assertEquals(t, fs.stat(f).ctimNs());
        assertEquals(f.ino(), fs.stat(data, 0, "sub/g").ino());
        FileNode g = (FileNode) fs.open(data, 0, "sub/g", 0, true);
        fs.write(g, 0, "SH".getBytes(StandardCharsets.UTF_8), 0, 2);
        fs.close(g);
        assertEquals("SHared", readPath(fs, data, "f"));
        fs.unlinkFile(data, "f");
        assertEquals(1, fs.stat(data, 0, "sub/g").nlink());
        assertEquals("SHared", readPath(fs, data, "sub/g"));
        assertEquals(6, fs.usedBytes());
    }

    @Test
    void link_errors_match_wasmtime() {
        createFile(fs, data, "f", "");
        fs.createDirectory(data, "d");
        assertErrno(Errno.EXIST, () -> fs.link(data, 0, "f", data, "f"));
        assertErrno(Errno.EXIST, () -> fs.link(data, 0, "f", data, "d"));
        assertErrno(Errno.PERM, () -> fs.link(data, 0, "d", data, "d2"));
        assertErrno(Errno.NOENT, () -> fs.link(data, 0, "f", data, "link/"));
        assertErrno(Errno.NOENT, () -> fs.link(data, 0, "missing", data, "x"));
    }

    @Test
    void link_to_a_symlink_links_the_symlink_itself_unless_following() {
        createFile(fs, data, "t", "");
        fs.symlink("t", data, "l");
        fs.link(data, 0, "l", data, "l2");
        assertEquals(Filetype.SYMBOLIC_LINK, fs.stat(data, 0, "l2").filetype());
        assertEquals(2, fs.stat(data, 0, "l").nlink());
        fs.link(data, FOLLOW, "l", data, "t2");
        assertEquals(fs.stat(data, 0, "t").ino(), fs.stat(data, 0, "t2").ino());
    }

    // ---- Symlinks --------------------------------------------------------------------------------

    @Test
    void symlink_onto_an_existing_name_is_exist() {
        createFile(fs, data, "f", "");
        fs.createDirectory(data, "d");
        assertErrno(Errno.EXIST, () -> fs.symlink("x", data, "f"));
        assertErrno(Errno.EXIST, () -> fs.symlink("x", data, "d"));
        assertErrno(Errno.EXIST, () -> fs.symlink("x", data, "d/"));
        assertErrno(Errno.NOTDIR, () -> fs.symlink("x", data, "f/"));
        assertErrno(Errno.NOENT, () -> fs.symlink("x", data, "new/"));
        assertErrno(Errno.NOENT, () -> fs.symlink("", data, "empty"));
    }

    @Test
    void readlink_returns_the_target_and_is_inval_on_other_nodes() {
        fs.symlink("some/where", data, "l");
        assertEquals("some/where", fs.readlink(data, "l"));
        assertEquals(10, fs.stat(data, 0, "l").size());
        createFile(fs, data, "f", "");
        assertErrno(Errno.INVAL, () -> fs.readlink(data, "f"));
        assertErrno(Errno.NOENT, () -> fs.readlink(data, "missing"));
    }

    // ---- Rename ----------------------------------------------------------------------------------

    @Test
    void rename_file_over_file_replaces_it() {
        createFile(fs, data, "a", "new");
        FileNode old = createFile(fs, data, "b", "old content");
        fs.rename(data, "a", data, "b");
        assertEquals("new", readPath(fs, data, "b"));
        assertErrno(Errno.NOENT, () -> fs.stat(data, 0, "a"));
        assertTrue(old.released);
        assertEquals(3, fs.usedBytes());
    }

    @Test
    void rename_directory_over_empty_directory_replaces_it() {
        fs.createDirectory(data, "src");
        createFile(fs, data, "src/f", "x");
        fs.createDirectory(data, "dst");
        fs.rename(data, "src", data, "dst");
        assertEquals("x", readPath(fs, data, "dst/f"));
        assertEquals(3, fs.stat(data, 0, ".").nlink());
    }

    @Test
    void rename_errors_match_linux() {
        fs.createDirectory(data, "src");
        fs.createDirectory(data, "full");
        createFile(fs, data, "full/f", "");
        createFile(fs, data, "file", "");
        fs.createDirectory(data, "src/inner");
        assertErrno(Errno.NOTEMPTY, () -> fs.rename(data, "src", data, "full"));
        assertErrno(Errno.ISDIR, () -> fs.rename(data, "file", data, "src"));
        assertErrno(Errno.NOTDIR, () -> fs.rename(data, "src", data, "file"));
        assertErrno(Errno.INVAL, () -> fs.rename(data, "src", data, "src/inner/moved"));
        assertErrno(Errno.INVAL, () -> fs.rename(data, "src", data, "src/moved"));
        assertErrno(Errno.NOENT, () -> fs.rename(data, "missing", data, "x"));
        assertErrno(Errno.NOENT, () -> fs.rename(data, "file", data, "missing/x"));
        assertErrno(Errno.NOTDIR, () -> fs.rename(data, "file", data, "newname/"));
        assertErrno(Errno.BUSY, () -> fs.rename(data, ".", data, "x"));
        assertErrno(Errno.BUSY, () -> fs.rename(data, "file", data, "src/.."));
        assertErrno(Errno.NOTCAPABLE, () -> fs.rename(data, "file", data, "../x"));
    }

    @Test
    void rename_onto_the_same_path_or_another_link_does_nothing() {
        createFile(fs, data, "f", "x");
        fs.link(data, 0, "f", data, "g");
        long before = fs.stat(data, 0, "f").ctimNs();
        clock.advance(100);
        fs.rename(data, "f", data, "f");
        fs.rename(data, "f", data, "g");
        assertEquals(before, fs.stat(data, 0, "f").ctimNs());
        assertEquals(2, fs.stat(data, 0, "g").nlink());
    }

    @Test
    void rename_moves_a_directory_between_parents_and_fixes_link_counts() {
        fs.createDirectory(data, "a");
        fs.createDirectory(data, "b");
        fs.createDirectory(data, "a/moving");
        createFile(fs, data, "a/moving/f", "x");
        long t = clock.advance(7);
        fs.rename(data, "a/moving", data, "b/moved");
        assertEquals(2, fs.stat(data, 0, "a").nlink());
        assertEquals(3, fs.stat(data, 0, "b").nlink());
        assertEquals(t, fs.stat(data, 0, "b/moved").ctimNs());
        assertEquals(t, fs.stat(data, 0, "a").mtimNs());
        assertEquals(t, fs.stat(data, 0, "b").mtimNs());
        assertEquals("x", readPath(fs, data, "b/moved/../moved/f"));
    }

    @Test
    void rename_across_preopens_works_within_one_filesystem() {
        createFile(fs, fs.preopen("/tmp"), "upload", "bytes");
        fs.rename(fs.preopen("/tmp"), "upload", data, "stored");
        assertEquals("bytes", readPath(fs, data, "stored"));
    }

    // ---- Content ---------------------------------------------------------------------------------

    @Test
    void write_past_the_end_zero_fills_the_gap() {
        FileNode f = (FileNode) fs.open(data, 0, "f", CREAT, true);
        fs.write(f, 4, new byte[] {9, 9}, 0, 2);
        byte[] buf = new byte[10];
        assertEquals(6, fs.read(f, 0, buf, 0, 10));
        assertArrayEquals(new byte[] {0, 0, 0, 0, 9, 9, 0, 0, 0, 0}, buf);
        assertEquals(0, fs.read(f, 6, buf, 0, 10));
        assertEquals(0, fs.read(f, 1000, buf, 0, 10));
        fs.close(f);
    }

    @Test
    void truncate_then_extend_reads_zeros_not_old_bytes() {
        FileNode f = (FileNode) fs.open(data, 0, "f", CREAT, true);
        fs.write(f, 0, "abcdef".getBytes(StandardCharsets.UTF_8), 0, 6);
        fs.setSize(f, 2);
        fs.setSize(f, 5);
        byte[] buf = new byte[5];
        fs.read(f, 0, buf, 0, 5);
        assertArrayEquals(new byte[] {'a', 'b', 0, 0, 0}, buf);
        assertEquals(5, fs.usedBytes());
        assertErrno(Errno.INVAL, () -> fs.setSize(f, -1));
        fs.close(f);
    }

    @Test
    void allocate_extends_only_when_shorter() {
        FileNode f = (FileNode) fs.open(data, 0, "f", CREAT, true);
        fs.allocate(f, 10, 5);
        assertEquals(15, f.size());
        fs.allocate(f, 0, 3);
        assertEquals(15, f.size());
        assertErrno(Errno.INVAL, () -> fs.allocate(f, 0, 0));
        assertErrno(Errno.INVAL, () -> fs.allocate(f, -1, 1));
        assertErrno(Errno.FBIG, () -> fs.allocate(f, Long.MAX_VALUE, 2));
        fs.close(f);
    }

    @Test
    void pread_and_pwrite_use_the_given_offset() {
        FileNode f = (FileNode) fs.open(data, 0, "f", CREAT, true);
        fs.write(f, 0, "hello world".getBytes(StandardCharsets.UTF_8), 0, 11);
        fs.write(f, 6, "WORLD".getBytes(StandardCharsets.UTF_8), 0, 5);
        byte[] buf = new byte[5];
        assertEquals(5, fs.read(f, 6, buf, 0, 5));
        assertEquals("WORLD", new String(buf, StandardCharsets.UTF_8));
        assertErrno(Errno.INVAL, () -> fs.read(f, -1, buf, 0, 1));
        assertErrno(Errno.INVAL, () -> fs.write(f, -1, buf, 0, 1));
        fs.close(f);
    }

    @Test
    void unlinked_file_stays_usable_through_its_handle_until_closed() {
        FileNode f = (FileNode) fs.open(data, 0, "f", CREAT, true);
        fs.write(f, 0, "abc".getBytes(StandardCharsets.UTF_8), 0, 3);
        fs.unlinkFile(data, "f");
        assertFalse(f.isLinked());
        assertErrno(Errno.NOENT, () -> fs.stat(data, 0, "f"));
        fs.write(f, 3, "def".getBytes(StandardCharsets.UTF_8), 0, 3);
        assertEquals("abcdef", readAll(fs, f));
        assertEquals(0, fs.stat(f).nlink());
        assertEquals(6, fs.usedBytes());
        assertSame(f, fs.nodeByIno(f.ino()).orElseThrow());
        fs.close(f);
        assertEquals(0, fs.usedBytes());
        assertTrue(fs.nodeByIno(f.ino()).isEmpty());
        assertThrows(IllegalStateException.class, () -> fs.read(f, 0, new byte[1], 0, 1));
    }

    @Test
    void close_without_a_handle_is_a_programming_error() {
        FileNode f = createFile(fs, data, "f", "");
        assertThrows(IllegalStateException.class, () -> fs.close(f));
        DirectoryNode root = (DirectoryNode) fs.retain(data);
        fs.close(root);
        assertEquals(0, root.openCount);
    }

    // ---- Timestamps ------------------------------------------------------------------------------

    @Test
    void timestamps_come_from_the_clock_and_reads_leave_atime_alone() {
        clock.nowNs = 100;
        FileNode f = (FileNode) fs.open(data, 0, "f", CREAT, true);
        FileStat created = fs.stat(f);
        assertEquals(List.of(100L, 100L, 100L), List.of(created.atimNs(), created.mtimNs(), created.ctimNs()));
        assertEquals(100, fs.stat(data).mtimNs());
        clock.nowNs = 200;
        fs.write(f, 0, new byte[] {1}, 0, 1);
        clock.nowNs = 300;
        fs.read(f, 0, new byte[1], 0, 1);
        FileStat afterRead = fs.stat(f);
        assertEquals(100, afterRead.atimNs());
        assertEquals(200, afterRead.mtimNs());
        assertEquals(200, afterRead.ctimNs());
        fs.write(f, 0, new byte[0], 0, 0);
        assertEquals(200, fs.stat(f).mtimNs()); // an empty write changes nothing
        fs.setSize(f, 0);
        assertEquals(300, fs.stat(f).mtimNs());
        fs.close(f);
    }

    @Test
    void set_times_follows_fstflags() {
        FileNode f = createFile(fs, data, "f", "");
        clock.nowNs = 5_000;
        fs.setTimes(f, 11, 22, VirtualFileSystem.FST_ATIM | VirtualFileSystem.FST_MTIM);
        assertEquals(List.of(11L, 22L, 5_000L), times(fs.stat(f)));
        clock.nowNs = 6_000;
        fs.setTimes(data, 0, "f", 0, 0, VirtualFileSystem.FST_ATIM_NOW);
        assertEquals(List.of(6_000L, 22L, 6_000L), times(fs.stat(f)));
        clock.nowNs = 7_000;
        fs.setTimes(f, 0, 0, VirtualFileSystem.FST_MTIM_NOW);
        assertEquals(List.of(6_000L, 7_000L, 7_000L), times(fs.stat(f)));
        assertErrno(Errno.INVAL, () -> fs.setTimes(f, 0, 0,
                VirtualFileSystem.FST_ATIM | VirtualFileSystem.FST_ATIM_NOW));
        assertErrno(Errno.INVAL, () -> fs.setTimes(data, 0, "f", 0, 0,
                VirtualFileSystem.FST_MTIM | VirtualFileSystem.FST_MTIM_NOW));
        assertErrno(Errno.INVAL, () -> fs.setTimes(f, 0, 0, 16));
        assertEquals(List.of(6_000L, 7_000L, 7_000L), times(fs.stat(f)));
    }

    private static List<Long> times(FileStat s) {
        return List.of(s.atimNs(), s.mtimNs(), s.ctimNs());
    }

    // ---- readdir ---------------------------------------------------------------------------------

    @Test
    void readdir_is_sorted_with_dot_entries_first() {
        // Inserted out of order; in UTF-8 bytes "Z" < "a" < "é" < "Ｚ" < "😀" (U+FF3A sorts before the emoji
        // by bytes although its UTF-16 unit is larger than the emoji's surrogates).
        for (String name : List.of("é", "b", "😀", "a", "Ｚ", "Z")) {
            createFile(fs, data, name, "");
        }
        fs.createDirectory(data, "dir");
        List<DirEntry> entries = fs.readdir(data, 0, 100);
        assertEquals(List.of(".", "..", "Z", "a", "b", "dir", "é", "Ｚ", "😀"),
                entries.stream().map(DirEntry::name).toList());
        assertEquals(data.ino(), entries.get(0).ino());
        assertEquals(data.ino(), entries.get(1).ino()); // a preopen root is its own parent
        assertEquals(Filetype.DIRECTORY, entries.get(5).filetype());
        assertEquals(Filetype.REGULAR_FILE, entries.get(2).filetype());
        for (int i = 0; i < entries.size(); i++) {
            assertEquals(i + 1, entries.get(i).next());
        }
        assertArrayEquals("é".getBytes(StandardCharsets.UTF_8), entries.get(6).nameUtf8());
    }

    @Test
    void readdir_resumes_from_a_cookie() {
        for (String name : List.of("c", "a", "b")) {
            createFile(fs, data, name, "");
        }
        List<DirEntry> first = fs.readdir(data, 0, 2);
        assertEquals(List.of(".", ".."), first.stream().map(DirEntry::name).toList());
        List<DirEntry> rest = fs.readdir(data, first.get(1).next(), 2);
        assertEquals(List.of("a", "b"), rest.stream().map(DirEntry::name).toList());
        assertEquals(List.of("c"), fs.readdir(data, rest.get(1).next(), 10).stream().map(DirEntry::name).toList());
        assertEquals(List.of(), fs.readdir(data, 5, 10));
        assertEquals(List.of(), fs.readdir(data, Long.MIN_VALUE, 10)); // u64 cookie above 2^63
        assertEquals("..", fs.readdir(data, 1, 1).get(0).name());
    }

    @Test
    void readdir_of_a_subdirectory_names_its_parent() {
        fs.createDirectory(data, "sub");
        DirectoryNode sub = (DirectoryNode) fs.open(data, 0, "sub", DIRECTORY, false);
        List<DirEntry> entries = fs.readdir(sub, 0, 10);
        assertEquals(sub.ino(), entries.get(0).ino());
        assertEquals(data.ino(), entries.get(1).ino());
        fs.close(sub);
    }
}
