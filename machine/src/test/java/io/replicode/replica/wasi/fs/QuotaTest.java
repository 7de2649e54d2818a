package io.replicode.replica.wasi.fs;

import static io.replicode.replica.wasi.fs.FsTestSupport.CREAT;
import static io.replicode.replica.wasi.fs.FsTestSupport.assertErrno;
import static io.replicode.replica.wasi.fs.FsTestSupport.assertInvariants;
import static io.replicode.replica.wasi.fs.FsTestSupport.createFile;
import static io.replicode.replica.wasi.fs.FsTestSupport.readAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.replicode.replica.wasi.Errno;
import java.util.List;
import org.junit.jupiter.api.Test;

class QuotaTest {
    private final FsTestSupport.Clock clock = new FsTestSupport.Clock();

    private VirtualFileSystem fs(long maxBytes, int maxInodes, long maxFileSize) {
        return new VirtualFileSystem(List.of("/data"), new FsLimits(maxBytes, maxInodes, maxFileSize), clock);
    }

    @Test
    void quota_exhausted_write_writes_nothing() {
        VirtualFileSystem fs = fs(10, 100, 100);
        DirectoryNode data = fs.preopen("/data");
        FileNode f = (FileNode) fs.open(data, 0, "f", CREAT, true);
        fs.write(f, 0, "12345678".getBytes(), 0, 8);
        long mtime = fs.stat(f).mtimNs();
        clock.advance(1);
        assertErrno(Errno.NOSPC, () -> fs.write(f, 6, "abcdef".getBytes(), 0, 6));
        assertEquals("12345678", readAll(fs, f));
        assertEquals(8, fs.usedBytes());
        assertEquals(mtime, fs.stat(f).mtimNs());
        // Overwriting within the file needs no new bytes, so it fits.
        fs.write(f, 0, "ab".getBytes(), 0, 2);
        fs.write(f, 8, "9!".getBytes(), 0, 2);
        assertEquals(10, fs.usedBytes());
        assertErrno(Errno.NOSPC, () -> fs.setSize(f, 11));
        assertErrno(Errno.NOSPC, () -> fs.allocate(f, 10, 1));
        fs.close(f);
        assertInvariants(fs);
    }

    @Test
    void quota_counts_every_file_and_frees_on_unlink() {
        VirtualFileSystem fs = fs(10, 100, 100);
        DirectoryNode data = fs.preopen("/data");
        createFile(fs, data, "a", "123456");
        assertErrno(Errno.NOSPC, () -> createFile(fs, data, "b", "12345"));
        assertEquals(6, fs.usedBytes());
        fs.unlinkFile(data, "a");
        assertEquals(0, fs.usedBytes());
        assertEquals("", FsTestSupport.readPath(fs, data, "b")); // created, then the write was refused
        assertInvariants(fs);
    }

    @Test
    void bytes_of_an_unlinked_open_file_leave_the_quota_on_last_close() {
        VirtualFileSystem fs = fs(10, 100, 100);
        DirectoryNode data = fs.preopen("/data");
        createFile(fs, data, "f", "1234567890");
        FileNode first = (FileNode) fs.open(data, 0, "f", 0, false);
        FileNode second = (FileNode) fs.open(data, 0, "f", 0, false);
        fs.unlinkFile(data, "f");
        assertEquals(10, fs.usedBytes());
        assertErrno(Errno.NOSPC, () -> createFile(fs, data, "g", "x"));
        fs.close(first);
        assertEquals(10, fs.usedBytes());
        fs.close(second);
        assertEquals(0, fs.usedBytes());
        assertInvariants(fs);
    }

    @Test
    void inode_limit_is_dquot() {
        VirtualFileSystem fs = fs(100, 4, 100); // the root takes one
        DirectoryNode data = fs.preopen("/data");
        fs.createDirectory(data, "d");
        createFile(fs, data, "f", "");
        fs.symlink("f", data, "l");
        assertEquals(4, fs.usedInodes());
        assertErrno(Errno.DQUOT, () -> fs.createDirectory(data, "e"));
        assertErrno(Errno.DQUOT, () -> fs.open(data, 0, "g", CREAT, true));
        assertErrno(Errno.DQUOT, () -> fs.symlink("f", data, "m"));
        fs.link(data, 0, "f", data, "hard"); // a new name is not a new inode
        fs.unlinkFile(data, "l");
        fs.createDirectory(data, "e");
        assertEquals(4, fs.usedInodes());
        assertInvariants(fs);
    }

    @Test
    void file_size_limit_is_fbig() {
        VirtualFileSystem fs = fs(1000, 100, 16);
        DirectoryNode data = fs.preopen("/data");
        FileNode f = (FileNode) fs.open(data, 0, "f", CREAT, true);
        fs.write(f, 0, new byte[16], 0, 16);
        assertErrno(Errno.FBIG, () -> fs.write(f, 16, new byte[1], 0, 1));
        assertErrno(Errno.FBIG, () -> fs.write(f, Long.MAX_VALUE, new byte[2], 0, 2));
        assertErrno(Errno.FBIG, () -> fs.setSize(f, 17));
        assertEquals(16, f.size());
        fs.close(f);
    }

    @Test
    void limits_are_validated() {
        assertThrows(IllegalArgumentException.class, () -> new FsLimits(-1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new FsLimits(1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new FsLimits(1, 1, FsLimits.MAX_FILE_SIZE + 1));
        assertThrows(IllegalArgumentException.class,
                () -> new VirtualFileSystem(List.of("/a", "/b"), new FsLimits(1, 1, 1), clock));
    }
}
