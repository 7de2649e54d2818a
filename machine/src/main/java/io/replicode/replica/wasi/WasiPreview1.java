package io.replicode.replica.wasi;

import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.ImportFunction;
import com.dylibso.chicory.wasm.types.FunctionType;
import com.dylibso.chicory.wasm.types.ValType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code wasi_snapshot_preview1} import table: every function of WASI preview 1, each bound to
 * {@link WasiHost} (or {@link WasiFiles}). A call ends with a WASI errno; a {@link WasiException} thrown
 * inside a call becomes its errno, and a bad guest pointer becomes {@code EFAULT}.
 */
public final class WasiPreview1 {
    public static final String MODULE = "wasi_snapshot_preview1";

    private static final ValType I = ValType.I32;
    private static final ValType L = ValType.I64;

    /** The signature and implementation of one import. */
    private record Fn(List<ValType> params, Call call) {}

    @FunctionalInterface
    private interface Call {
        int apply(WasiHost h, long[] a);
    }

    private static final Map<String, Fn> TABLE = table();

    private WasiPreview1() {}

    /** Whether {@code module.name} is an import we implement. */
    public static boolean provides(String qualifiedName) {
        int dot = qualifiedName.indexOf('.');
        return dot > 0 && qualifiedName.substring(0, dot).equals(MODULE)
                && (TABLE.containsKey(qualifiedName.substring(dot + 1)) || qualifiedName.endsWith(".proc_exit"));
    }

    /** Names of every implemented function, for documentation and status. */
    public static Set<String> functionNames() {
        List<String> names = new ArrayList<>(TABLE.keySet());
        names.add("proc_exit");
        Collections.sort(names);
        return new java.util.LinkedHashSet<>(names);
    }

    /** Host functions bound to {@code host}. */
    public static List<ImportFunction> functions(WasiHost host) {
        List<ImportFunction> out = new ArrayList<>();
        for (Map.Entry<String, Fn> e : TABLE.entrySet()) {
            String name = e.getKey();
            Fn fn = e.getValue();
            out.add(new HostFunction(MODULE, name, FunctionType.of(fn.params, List.of(I)), (instance, args) -> {
                host.parking.checkNotUnwinding(name);
                int errno;
                try {
                    errno = fn.call.apply(host, args);
                } catch (WasiException ex) {
                    errno = ex.errno();
                }
                return new long[] {errno};
            }));
        }
        out.add(new HostFunction(MODULE, "proc_exit", FunctionType.of(List.of(I), List.of()), (instance, args) -> {
            host.parking.checkNotUnwinding("proc_exit");
            throw new GuestExit((int) args[0]);
        }));
        return out;
    }

    private static long p(long[] a, int i) {
        return a[i] & 0xFFFFFFFFL;
    }

    private static int i(long[] a, int i) {
        return (int) a[i];
    }

    private static Map<String, Fn> table() {
        Map<String, Fn> t = new LinkedHashMap<>();
        def(t, "args_get", List.of(I, I), (h, a) -> h.argsGet(p(a, 0), p(a, 1)));
        def(t, "args_sizes_get", List.of(I, I), (h, a) -> h.argsSizesGet(p(a, 0), p(a, 1)));
        def(t, "environ_get", List.of(I, I), (h, a) -> h.environGet(p(a, 0), p(a, 1)));
        def(t, "environ_sizes_get", List.of(I, I), (h, a) -> h.environSizesGet(p(a, 0), p(a, 1)));
        def(t, "clock_res_get", List.of(I, I), (h, a) -> h.clockResGet(i(a, 0), p(a, 1)));
        def(t, "clock_time_get", List.of(I, L, I), (h, a) -> h.clockTimeGet(i(a, 0), p(a, 2)));
        def(t, "random_get", List.of(I, I), (h, a) -> h.randomGet(p(a, 0), p(a, 1)));
        def(t, "poll_oneoff", List.of(I, I, I, I), (h, a) -> h.poll.oneoff(p(a, 0), p(a, 1), p(a, 2), p(a, 3)));
        def(t, "sched_yield", List.of(), (h, a) -> h.schedYield());
        def(t, "proc_raise", List.of(I), (h, a) -> h.procRaise(i(a, 0)));

        def(t, "sock_accept", List.of(I, I, I), (h, a) -> h.sockets.accept(i(a, 0), i(a, 1), p(a, 2)));
        def(t, "sock_recv", List.of(I, I, I, I, I, I),
                (h, a) -> h.sockets.recv(i(a, 0), p(a, 1), p(a, 2), i(a, 3), p(a, 4), p(a, 5)));
        def(t, "sock_send", List.of(I, I, I, I, I), (h, a) -> h.sockets.send(i(a, 0), p(a, 1), p(a, 2), i(a, 3), p(a, 4)));
        def(t, "sock_shutdown", List.of(I, I), (h, a) -> h.sockets.shutdown(i(a, 0), i(a, 1)));

        def(t, "fd_close", List.of(I), (h, a) -> h.fdClose(i(a, 0)));
        def(t, "fd_fdstat_get", List.of(I, I), (h, a) -> h.fdFdstatGet(i(a, 0), p(a, 1)));
        def(t, "fd_fdstat_set_flags", List.of(I, I), (h, a) -> h.fdFdstatSetFlags(i(a, 0), i(a, 1)));
        def(t, "fd_fdstat_set_rights", List.of(I, L, L), (h, a) -> h.fdFdstatSetRights(i(a, 0), a[1], a[2]));
        def(t, "fd_read", List.of(I, I, I, I), (h, a) -> h.fdRead(i(a, 0), p(a, 1), p(a, 2), p(a, 3)));
        def(t, "fd_write", List.of(I, I, I, I), (h, a) -> h.fdWrite(i(a, 0), p(a, 1), p(a, 2), p(a, 3)));
        def(t, "fd_renumber", List.of(I, I), (h, a) -> h.fdRenumber(i(a, 0), i(a, 1)));
        def(t, "fd_filestat_get", List.of(I, I), (h, a) -> h.fdFilestatGet(i(a, 0), p(a, 1)));

        def(t, "fd_advise", List.of(I, L, L, I), (h, a) -> h.files.advise(i(a, 0), a[1], a[2], i(a, 3)));
        def(t, "fd_allocate", List.of(I, L, L), (h, a) -> h.files.allocate(i(a, 0), a[1], a[2]));
        def(t, "fd_datasync", List.of(I), (h, a) -> h.files.sync(i(a, 0), Descriptor.Rights.FD_DATASYNC));
        def(t, "fd_sync", List.of(I), (h, a) -> h.files.sync(i(a, 0), Descriptor.Rights.FD_SYNC));
        def(t, "fd_filestat_set_size", List.of(I, L), (h, a) -> h.files.setSize(i(a, 0), a[1]));
        def(t, "fd_filestat_set_times", List.of(I, L, L, I), (h, a) -> h.files.setTimes(i(a, 0), a[1], a[2], i(a, 3)));
        def(t, "fd_pread", List.of(I, I, I, L, I), (h, a) -> h.files.pread(i(a, 0), p(a, 1), p(a, 2), a[3], p(a, 4)));
        def(t, "fd_pwrite", List.of(I, I, I, L, I), (h, a) -> h.files.pwrite(i(a, 0), p(a, 1), p(a, 2), a[3], p(a, 4)));
        def(t, "fd_prestat_get", List.of(I, I), (h, a) -> h.files.prestatGet(i(a, 0), p(a, 1)));
        def(t, "fd_prestat_dir_name", List.of(I, I, I), (h, a) -> h.files.prestatDirName(i(a, 0), p(a, 1), p(a, 2)));
        def(t, "fd_readdir", List.of(I, I, I, L, I), (h, a) -> h.files.readdir(i(a, 0), p(a, 1), p(a, 2), a[3], p(a, 4)));
        def(t, "fd_seek", List.of(I, L, I, I), (h, a) -> h.files.seek(i(a, 0), a[1], i(a, 2), p(a, 3)));
        def(t, "fd_tell", List.of(I, I), (h, a) -> h.files.tell(i(a, 0), p(a, 1)));

        def(t, "path_create_directory", List.of(I, I, I), (h, a) -> h.files.createDirectory(i(a, 0), p(a, 1), p(a, 2)));
        def(t, "path_filestat_get", List.of(I, I, I, I, I),
                (h, a) -> h.files.pathFilestat(i(a, 0), i(a, 1), p(a, 2), p(a, 3), p(a, 4)));
        def(t, "path_filestat_set_times", List.of(I, I, I, I, L, L, I),
                (h, a) -> h.files.pathSetTimes(i(a, 0), i(a, 1), p(a, 2), p(a, 3), a[4], a[5], i(a, 6)));
        def(t, "path_link", List.of(I, I, I, I, I, I, I),
                (h, a) -> h.files.link(i(a, 0), i(a, 1), p(a, 2), p(a, 3), i(a, 4), p(a, 5), p(a, 6)));
        def(t, "path_open", List.of(I, I, I, I, I, L, L, I, I),
                (h, a) -> h.files.open(i(a, 0), i(a, 1), p(a, 2), p(a, 3), i(a, 4), a[5], a[6], i(a, 7), p(a, 8)));
        def(t, "path_readlink", List.of(I, I, I, I, I, I),
                (h, a) -> h.files.readlink(i(a, 0), p(a, 1), p(a, 2), p(a, 3), p(a, 4), p(a, 5)));
        def(t, "path_remove_directory", List.of(I, I, I), (h, a) -> h.files.removeDirectory(i(a, 0), p(a, 1), p(a, 2)));
        def(t, "path_rename", List.of(I, I, I, I, I, I),
                (h, a) -> h.files.rename(i(a, 0), p(a, 1), p(a, 2), i(a, 3), p(a, 4), p(a, 5)));
        def(t, "path_symlink", List.of(I, I, I, I, I),
                (h, a) -> h.files.symlink(p(a, 0), p(a, 1), i(a, 2), p(a, 3), p(a, 4)));
        def(t, "path_unlink_file", List.of(I, I, I), (h, a) -> h.files.unlink(i(a, 0), p(a, 1), p(a, 2)));
        return Collections.unmodifiableMap(t);
    }

    private static void def(Map<String, Fn> t, String name, List<ValType> params, Call call) {
        t.put(name, new Fn(params, call));
    }
}
