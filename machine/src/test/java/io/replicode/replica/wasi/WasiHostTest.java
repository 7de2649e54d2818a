package io.replicode.replica.wasi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.dylibso.chicory.runtime.ByteArrayMemory;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.GuestConfig;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Our WASI preview 1 called directly, with a real Chicory memory and a recording parking strategy. */
class WasiHostTest {
    private static final long T0 = 1_000_000_000_000L;
    private WasiHost host;
    private ByteArrayMemory mem;
    private int parks;

    /** A guest that is never resumed: a wait just records itself and unwinds. */
    private final WasiHost.Parking recording = new WasiHost.Parking() {
        @Override
        public void enter() {}

        @Override
        public boolean waitForNextFrame() {
            parks++;
            return true;
        }

        @Override
        public void checkNotUnwinding(String importName) {}
    };

    @BeforeEach
    void setUp() {
        host = new WasiHost(GuestConfig.of("app", List.of("web", "admin")).withGenesis(new byte[] {1}, T0));
        mem = new ByteArrayMemory(new MemoryLimits(1, 1));
        host.bind(mem, recording);
        host.beginFrame(1, T0 + 5, new byte[] {2});
    }

    /** Calls the host the way the import wrapper does: a thrown WasiException is the call's errno. */
    private static int errno(java.util.function.IntSupplier call) {
        try {
            return call.getAsInt();
        } catch (WasiException e) {
            return e.errno();
        }
    }

    private long str(long addr, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        mem.write((int) addr, b);
        return b.length;
    }

    private void iovec(long at, long buf, long len) {
        mem.writeI32((int) at, (int) buf);
        mem.writeI32((int) at + 4, (int) len);
    }

    @Test
    void implements_every_preview1_function() {
        Set<String> preview1 = Set.of("args_get", "args_sizes_get", "environ_get", "environ_sizes_get", "clock_res_get",
                "clock_time_get", "fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get",
                "fd_fdstat_set_flags", "fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size",
                "fd_filestat_set_times", "fd_pread", "fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite", "fd_read",
                "fd_readdir", "fd_renumber", "fd_seek", "fd_sync", "fd_tell", "fd_write", "path_create_directory",
                "path_filestat_get", "path_filestat_set_times", "path_link", "path_open", "path_readlink",
                "path_remove_directory", "path_rename", "path_symlink", "path_unlink_file", "poll_oneoff", "proc_exit",
                "proc_raise", "sched_yield", "random_get", "sock_accept", "sock_recv", "sock_send", "sock_shutdown");
        assertEquals(46, preview1.size());
        assertEquals(preview1, WasiPreview1.functionNames());
        assertEquals(preview1.size(), WasiPreview1.functions(host).size());
    }

    @Test
    void listeners_are_fds_3_and_up_and_preopens_follow_them() {
        assertEquals(Errno.SUCCESS, host.files.prestatGet(3, 100));
        assertEquals(1, mem.read(100), "a socket answers prestat with a non-directory tag, so libc skips it");
        assertEquals(Errno.SUCCESS, host.files.prestatGet(5, 100));
        assertEquals(0, mem.read(100));
        assertEquals(5, mem.readInt(104));
        assertEquals(Errno.SUCCESS, host.files.prestatDirName(5, 200, 5));
        assertEquals("/data", mem.readString(200, 5));
        assertEquals(Errno.BADF, errno(() -> host.files.prestatGet(6, 100)), "the scan ends at the first unused fd");
        assertEquals(Errno.BADF, host.files.prestatGet(1, 100));
    }

    @Test
    void environment_names_the_listeners() {
        assertEquals(Errno.SUCCESS, host.environSizesGet(0, 4));
        assertEquals(2, mem.readInt(0));
        assertEquals(Errno.SUCCESS, host.environGet(16, 64));
        assertEquals("LISTEN_FDS=2", mem.readCString(mem.readInt(16)));
        assertEquals("LISTEN_FDNAMES=web:admin", mem.readCString(mem.readInt(20)));
    }

    @Test
    void stdout_becomes_a_log_output_and_stdin_is_empty() {
        long n = str(300, "hi\n");
        iovec(0, 300, n);
        assertEquals(Errno.SUCCESS, host.fdWrite(1, 0, 1, 16));
        assertEquals(3, mem.readInt(16));
        assertEquals(List.of(new Output.Log(1, "hi\n".getBytes())), host.out.drain());
        iovec(0, 400, 10);
        assertEquals(Errno.SUCCESS, host.fdRead(0, 0, 1, 16));
        assertEquals(0, mem.readInt(16));
        assertEquals(Errno.BADF, host.fdWrite(0, 0, 1, 16));
    }

    @Test
    void accept_waits_when_blocking_and_says_again_when_not() {
        assertEquals(WasiHost.UNWOUND, host.sockets.accept(3, 0, 16));
        assertEquals(1, parks);
        assertEquals(Errno.SUCCESS, host.fdFdstatSetFlags(3, Descriptor.FDFLAG_NONBLOCK));
        assertEquals(Errno.AGAIN, host.sockets.accept(3, 0, 16));
        host.network.onEvent(new IngressEvent.Open(9, "admin"));
        assertEquals(Errno.AGAIN, host.sockets.accept(3, 0, 16), "the connection waits on the other listener");
        assertEquals(Errno.SUCCESS, host.sockets.accept(4, Descriptor.FDFLAG_NONBLOCK, 16));
        assertEquals(6, mem.readInt(16), "lowest free descriptor");
        assertEquals(Errno.NOTSOCK, errno(() -> host.sockets.accept(5, 0, 16)));
    }

    private int accepted(long conn) {
        host.network.onEvent(new IngressEvent.Open(conn, "web"));
        assertEquals(Errno.SUCCESS, host.sockets.accept(3, Descriptor.FDFLAG_NONBLOCK, 16));
        return mem.readInt(16);
    }

    @Test
    void recv_sees_data_then_end_of_stream_after_half_close() {
        int fd = accepted(1);
        iovec(0, 500, 64);
        assertEquals(Errno.AGAIN, host.sockets.recv(fd, 0, 1, 0, 16, 20));
        host.network.onEvent(new IngressEvent.Data(1, "abc".getBytes()));
        host.network.onEvent(new IngressEvent.HalfClose(1));
        assertEquals(Errno.SUCCESS, host.sockets.recv(fd, 0, 1, 1 /* peek */, 16, 20));
        assertEquals(3, mem.readInt(16));
        assertEquals(Errno.SUCCESS, host.sockets.recv(fd, 0, 1, 0, 16, 20));
        assertEquals("abc", mem.readString(500, 3));
        assertEquals(Errno.SUCCESS, host.sockets.recv(fd, 0, 1, 0, 16, 20));
        assertEquals(0, mem.readInt(16), "end of stream");
        host.network.flushWindows();
        assertTrue(host.out.drain().contains(new Output.Window(1, 3)));
    }

    @Test
    void reset_gives_connreset_once_then_end_of_stream_and_pipe_on_send() {
        int fd = accepted(1);
        host.network.onEvent(new IngressEvent.Reset(1));
        iovec(0, 500, 64);
        assertEquals(Errno.CONNRESET, host.sockets.recv(fd, 0, 1, 0, 16, 20));
        assertEquals(Errno.SUCCESS, host.sockets.recv(fd, 0, 1, 0, 16, 20));
        assertEquals(0, mem.readInt(16));
        assertEquals(Errno.PIPE, host.sockets.send(fd, 0, 1, 0, 16));
    }

    @Test
    void a_lost_gateway_resets_only_its_connections() {
        long mine = io.replicode.nat.ConnectionIds.of(1, 1);
        long other = io.replicode.nat.ConnectionIds.of(2, 1);
        int fdMine = accepted(mine);
        int fdOther = accepted(other);
        host.network.onEvent(new IngressEvent.GatewayLost(1));
        iovec(0, 500, 64);
        assertEquals(Errno.CONNRESET, host.sockets.recv(fdMine, 0, 1, 0, 16, 20));
        assertEquals(Errno.AGAIN, host.sockets.recv(fdOther, 0, 1, 0, 16, 20), "the other gateway's client is still there");
        host.network.onEvent(new IngressEvent.GatewayLost(IngressEvent.GatewayLost.ALL));
        assertEquals(Errno.CONNRESET, host.sockets.recv(fdOther, 0, 1, 0, 16, 20));
    }

    @Test
    void send_is_limited_by_the_window_and_shutdown_sends_fin_once() {
        host = new WasiHost(GuestConfig.of("app", List.of("web"))
                .withLimits(io.replicode.replica.GuestLimits.DEFAULT.withSendWindowBytes(4)));
        host.bind(mem, recording);
        int fd = accepted(1);
        long n = str(500, "abcdef");
        iovec(0, 500, n);
        assertEquals(Errno.SUCCESS, host.sockets.send(fd, 0, 1, 0, 16));
        assertEquals(4, mem.readInt(16));
        assertEquals(Errno.AGAIN, host.sockets.send(fd, 0, 1, 0, 16));
        assertEquals(Errno.SUCCESS, host.sockets.shutdown(fd, 2));
        assertEquals(Errno.PIPE, host.sockets.send(fd, 0, 1, 0, 16));
        assertEquals(Errno.SUCCESS, host.fdClose(fd));
        List<Output> out = host.out.drain();
        assertEquals(List.of(new Output.Send(1, 0, "abcd".getBytes()), new Output.Close(1, 4)), out);
        assertEquals(Errno.NOTCONN, errno(() -> host.sockets.shutdown(3, 2)), "a listener is not connected");
    }

    @Test
    void poll_reports_readiness_errors_and_waits_with_a_timer() {
        int fd = accepted(1);
        // sub 0: fd_read on the socket, sub 1: fd_write on an unknown fd, sub 2: relative clock of 1 ms
        writeSub(1000, 0, 11, 1, fd);
        writeSub(1048, 1, 22, 2, 77);
        writeClock(1096, 2, 33, 0, 1_000_000, 0);
        assertEquals(Errno.SUCCESS, host.poll.oneoff(1000, 2000, 3, 16));
        assertEquals(1, mem.readInt(16), "only the bad descriptor is ready");
        assertEquals(22, mem.readLong(2000));
        assertEquals(Errno.BADF, mem.readShort(2008));

        assertEquals(WasiHost.UNWOUND, host.poll.oneoff(1000, 2000, 1, 16), "nothing to read yet: wait");
        writeSub(1000, 0, 11, 1, fd);
        writeClock(1048, 1, 33, 0, 1_000_000, 0);
        assertEquals(WasiHost.UNWOUND, host.poll.oneoff(1000, 2000, 2, 16));
        assertEquals(List.of(new Output.TimerRequest(T0 + 5 + 1_000_000)), host.out.drain());

        host.network.onEvent(new IngressEvent.Data(1, "x".getBytes()));
        assertEquals(Errno.SUCCESS, host.poll.oneoff(1000, 2000, 2, 16));
        assertEquals(1, mem.readInt(16));
        assertEquals(11, mem.readLong(2000));
        assertEquals(1, mem.readLong(2016), "one byte readable");
        assertEquals(Errno.INVAL, host.poll.oneoff(1000, 2000, 0, 16), "no subscriptions");
    }

    private void writeSub(long at, int index, long userdata, int type, int fd) {
        mem.writeLong((int) at, userdata);
        mem.writeByte((int) at + 8, (byte) type);
        mem.writeI32((int) at + 16, fd);
    }

    private void writeClock(long at, int index, long userdata, int clock, long timeout, int flags) {
        mem.writeLong((int) at, userdata);
        mem.writeByte((int) at + 8, (byte) 0);
        mem.writeI32((int) at + 16, clock);
        mem.writeLong((int) at + 24, timeout);
        mem.writeLong((int) at + 32, 0);
        mem.writeShort((int) at + 40, (short) flags);
    }

    @Test
    void files_read_write_seek_pread_and_renumber() {
        long p = str(300, "notes.txt");
        assertEquals(Errno.SUCCESS, host.files.open(5, 0, 300, p, VirtualFileSystemFlags.CREAT, -1L, -1L, 0, 16));
        int fd = mem.readInt(16);
        long n = str(500, "hello world");
        iovec(0, 500, n);
        assertEquals(Errno.SUCCESS, host.fdWrite(fd, 0, 1, 16));
        assertEquals(Errno.SUCCESS, host.files.seek(fd, -5, 2, 24));
        assertEquals(6, mem.readLong(24));
        iovec(0, 600, 100);
        assertEquals(Errno.SUCCESS, host.fdRead(fd, 0, 1, 16));
        assertEquals("world", mem.readString(600, mem.readInt(16)));
        assertEquals(Errno.SUCCESS, host.files.pread(fd, 0, 1, 0, 16));
        assertEquals("hello world", mem.readString(600, mem.readInt(16)));
        assertEquals(Errno.SUCCESS, host.files.tell(fd, 24));
        assertEquals(11, mem.readLong(24), "pread does not move the position");
        assertEquals(Errno.SPIPE, errno(() -> host.files.seek(3, 0, 0, 24)), "sockets cannot seek");
        assertEquals(Errno.SUCCESS, host.fdRenumber(fd, 0));
        assertEquals(Errno.BADF, errno(() -> host.fdClose(fd)), "the old number is free");
        assertEquals(Errno.SUCCESS, host.files.tell(0, 24), "fd 0 is now the file");
    }

    @Test
    void readdir_cuts_the_last_entry_at_the_buffer_end_and_resumes_by_cookie() {
        for (String name : List.of("b", "a", "c")) {
            long p = str(300, name);
            assertEquals(Errno.SUCCESS, host.files.open(5, 0, 300, p, VirtualFileSystemFlags.CREAT, -1L, -1L, 0, 16));
        }
        // ".", ".." take 25 and 26 bytes; a 60-byte buffer holds them and 9 bytes of "a".
        assertEquals(Errno.SUCCESS, host.files.readdir(5, 1000, 60, 0, 16));
        assertEquals(60, mem.readInt(16));
        assertEquals(2, mem.readLong(1000 + 24 + 1), "the '..' entry's next cookie");
        assertEquals(Errno.SUCCESS, host.files.readdir(5, 2000, 4096, 2, 16));
        int used = mem.readInt(16);
        StringBuilder names = new StringBuilder();
        for (int off = 0; off < used; ) {
            int len = mem.readInt(2000 + off + 16);
            names.append(mem.readString(2000 + off + 24, len)).append(' ');
            off += 24 + len;
        }
        assertEquals("a b c ", names.toString());
    }

    @Test
    void bad_pointers_give_efault_not_a_crash() {
        assertThrows(WasiException.class, () -> host.clockTimeGet(0, 65_536));
        assertEquals(Errno.FAULT, assertThrows(WasiException.class, () -> host.randomGet(65_530, 100)).errno());
    }

    @Test
    void clocks_come_from_the_frame() {
        assertEquals(Errno.SUCCESS, host.clockTimeGet(WasiHost.CLOCK_REALTIME, 0));
        assertEquals(T0 + 5, mem.readLong(0));
        assertEquals(Errno.SUCCESS, host.clockTimeGet(WasiHost.CLOCK_MONOTONIC, 0));
        assertEquals(5, mem.readLong(0));
        host.beginFrame(2, T0 - 100, new byte[0]);
        assertEquals(Errno.SUCCESS, host.clockTimeGet(WasiHost.CLOCK_REALTIME, 0));
        assertEquals(T0 + 5, mem.readLong(0), "frame time never goes back");
        assertEquals(Errno.INVAL, assertThrows(WasiException.class, () -> host.clockTimeGet(9, 0)).errno());
    }

    @Test
    void descriptor_limit_gives_emfile() {
        host = new WasiHost(GuestConfig.of("app", List.of("web")).withLimits(new io.replicode.replica.GuestLimits(
                64, 1000, 100, 1 << 20, 100, 8, 1024, 1024, 16, 1024, 1024)));
        host.bind(mem, recording);
        long p = str(300, "f");
        int opened = 0;
        int errno = Errno.SUCCESS;
        while (errno == Errno.SUCCESS && opened < 20) {
            errno = host.files.open(4, 0, 300, p, VirtualFileSystemFlags.CREAT, -1L, -1L, 0, 16);
            opened++;
        }
        assertEquals(Errno.MFILE, errno);
        assertEquals(8, host.openDescriptors());
    }

    @Test
    void random_bytes_are_a_function_of_seed_and_frame() {
        assertEquals(Errno.SUCCESS, host.randomGet(0, 16));
        byte[] a = mem.readBytes(0, 16);
        WasiHost other = new WasiHost(GuestConfig.of("app", List.of("web", "admin")).withGenesis(new byte[] {1}, T0));
        other.bind(mem, recording);
        other.beginFrame(1, T0 + 5, new byte[] {2});
        assertEquals(Errno.SUCCESS, other.randomGet(0, 16));
        assertArrayEquals(a, mem.readBytes(0, 16));
    }

    /** WASI oflags, spelled out for readability. */
    private static final class VirtualFileSystemFlags {
        static final int CREAT = 1;
    }
}
