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
 * {@link WasiHost} (or {@link WasiFiles}), and the socket functions of the interface the module was written against
 * ({@link SocketAbi}: preview 1's, RepliCode's or WasmEdge's, which give some names other meanings). A call ends with
 * a WASI errno; a {@link WasiException} thrown inside a call becomes its errno, and a bad guest pointer becomes
 * {@code EFAULT}.
 */
public final class WasiPreview1 {
    public static final String MODULE = "wasi_snapshot_preview1";

    private static final ValType I = ValType.I32;
    private static final ValType L = ValType.I64;

    /** The signature and implementation of one import. */
    private record Fn(List<ValType> params, Call call) {
        String signature() {
            StringBuilder b = new StringBuilder("(");
            for (int i = 0; i < params.size(); i++) {
                b.append(i == 0 ? "" : ",").append(params.get(i) == L ? "i64" : "i32");
            }
            return b.append(")->i32").toString();
        }
    }

    @FunctionalInterface
    private interface Call {
        int apply(WasiHost h, long[] a);
    }

    private static final Map<String, Fn> TABLE = table();
    /** The socket functions of each interface; a name may have a variant per signature (WasmEdge's two versions). */
    private static final Map<SocketAbi, Map<String, List<Fn>>> SOCKETS = Map.of(
            SocketAbi.PREVIEW1, preview1Sockets(), SocketAbi.REPLICODE, replicodeSockets(),
            SocketAbi.WASMEDGE, wasmEdgeSockets());

    private WasiPreview1() {}

    /**
     * Whether the import {@code module.name} of type {@code signature} (as {@code (i32,i32)->i32}) is one we implement
     * for a module of interface {@code abi}.
     */
    public static boolean provides(String qualifiedName, String signature, SocketAbi abi) {
        int dot = qualifiedName.indexOf('.');
        if (dot <= 0 || !qualifiedName.substring(0, dot).equals(MODULE)) {
            return false;
        }
        String name = qualifiedName.substring(dot + 1);
        if (name.equals("proc_exit")) {
            return signature.equals("(i32)->()");
        }
        Fn shared = TABLE.get(name);
        if (shared != null) {
            return signature.equals(shared.signature());
        }
        for (Fn f : SOCKETS.get(abi).getOrDefault(name, List.of())) {
            if (signature.equals(f.signature())) {
                return true;
            }
        }
        return false;
    }

    /** The signatures {@code name} has in interface {@code abi}, for an error that says what was expected. */
    public static List<String> signatures(String name, SocketAbi abi) {
        List<String> out = new ArrayList<>();
        Fn shared = TABLE.get(name);
        if (shared != null) {
            out.add(shared.signature());
        }
        for (Fn f : SOCKETS.get(abi).getOrDefault(name, List.of())) {
            out.add(f.signature());
        }
        return out;
    }

    /** Names of every function implemented for WASI preview 1 modules, for documentation and status. */
    public static Set<String> functionNames() {
        return functionNames(SocketAbi.PREVIEW1);
    }

    /** Names of every function implemented for modules of interface {@code abi}. */
    public static Set<String> functionNames(SocketAbi abi) {
        List<String> names = new ArrayList<>(TABLE.keySet());
        names.addAll(SOCKETS.get(abi).keySet());
        names.add("proc_exit");
        Collections.sort(names);
        return new java.util.LinkedHashSet<>(names);
    }

    /** The socket functions of interface {@code abi}, sorted. */
    static List<String> socketFunctionNames(SocketAbi abi) {
        List<String> names = new ArrayList<>(SOCKETS.get(abi).keySet());
        Collections.sort(names);
        return names;
    }

    /** Host functions bound to {@code host}, for a WASI preview 1 module. */
    public static List<ImportFunction> functions(WasiHost host) {
        return functions(host, Map.of());
    }

    /**
     * Host functions bound to {@code host}, for the interface {@code host} serves; where a function has variants, the
     * one of the type the module imports ({@code imports}: qualified name to signature).
     */
    public static List<ImportFunction> functions(WasiHost host, Map<String, String> imports) {
        Map<String, Fn> chosen = new LinkedHashMap<>(TABLE);
        for (Map.Entry<String, List<Fn>> e : SOCKETS.get(host.abi).entrySet()) {
            String wanted = imports.get(MODULE + "." + e.getKey());
            Fn pick = e.getValue().get(0);
            for (Fn f : e.getValue()) {
                if (f.signature().equals(wanted)) {
                    pick = f;
                }
            }
            chosen.put(e.getKey(), pick);
        }
        List<ImportFunction> out = new ArrayList<>();
        for (Map.Entry<String, Fn> e : chosen.entrySet()) {
            String name = e.getKey();
            Fn fn = e.getValue();
            boolean blocking = WasiHost.isBlockingImport(name);
            out.add(new HostFunction(MODULE, name, FunctionType.of(fn.params, List.of(I)), (instance, args) -> {
                host.parking.checkNotUnwinding(name);
                if (blocking) {
                    host.parking.enter();
                }
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

    private static void def(Map<String, List<Fn>> t, String name, int params, Call call) {
        t.computeIfAbsent(name, k -> new ArrayList<>()).add(new Fn(Collections.nCopies(params, I), call));
    }

    /** WASI preview 1: the guest accepts on listeners preopened at fd 3.. */
    private static Map<String, List<Fn>> preview1Sockets() {
        Map<String, List<Fn>> t = new LinkedHashMap<>();
        def(t, "sock_accept", 3, (h, a) -> h.sockets.accept(i(a, 0), i(a, 1), p(a, 2)));
        def(t, "sock_recv", 6, (h, a) -> h.sockets.recv(i(a, 0), p(a, 1), p(a, 2), i(a, 3), p(a, 4), p(a, 5)));
        def(t, "sock_send", 5, (h, a) -> h.sockets.send(i(a, 0), p(a, 1), p(a, 2), i(a, 3), p(a, 4)));
        def(t, "sock_shutdown", 2, (h, a) -> h.sockets.shutdown(i(a, 0), i(a, 1)));
        return t;
    }

    /** RepliCode's runtime: POSIX numbers, plain buffers, {@code sock_close}, a sockaddr_in (or host and port) connect. */
    private static Map<String, List<Fn>> replicodeSockets() {
        Map<String, List<Fn>> t = new LinkedHashMap<>();
        def(t, "sock_open", 4, (h, a) -> h.sockets.openPosix(i(a, 0), i(a, 1), i(a, 2), p(a, 3)));
        def(t, "sock_listen", 2, (h, a) -> h.sockets.listen(i(a, 0), i(a, 1)));
        def(t, "sock_accept", 3, (h, a) -> h.sockets.accept(i(a, 0), i(a, 1), p(a, 2)));
        def(t, "sock_recv", 6, (h, a) -> h.sockets.recvPlain(i(a, 0), p(a, 1), p(a, 2), i(a, 3), p(a, 4), p(a, 5)));
        def(t, "sock_send", 5, (h, a) -> h.sockets.sendPlain(i(a, 0), p(a, 1), p(a, 2), i(a, 3), p(a, 4)));
        def(t, "sock_shutdown", 2, (h, a) -> h.sockets.shutdownPosix(i(a, 0), i(a, 1)));
        def(t, "sock_close", 1, (h, a) -> h.sockets.close(i(a, 0)));
        def(t, "sock_connect", 3, (h, a) -> h.sockets.connectPosix(i(a, 0), p(a, 1), i(a, 2)));
        return t;
    }

    /** WasmEdge's socket extension, both of its versions where their types differ. */
    private static Map<String, List<Fn>> wasmEdgeSockets() {
        Map<String, List<Fn>> t = new LinkedHashMap<>();
        def(t, "sock_open", 3, (h, a) -> h.sockets.openWasmEdge(i(a, 0), i(a, 1), p(a, 2)));
        def(t, "sock_bind", 3, (h, a) -> h.sockets.bind(i(a, 0), p(a, 1), i(a, 2)));
        def(t, "sock_listen", 2, (h, a) -> h.sockets.listen(i(a, 0), i(a, 1)));
        def(t, "sock_accept", 3, (h, a) -> h.sockets.accept(i(a, 0), i(a, 1), p(a, 2)));
        def(t, "sock_accept", 2, (h, a) -> h.sockets.accept(i(a, 0), p(a, 1)));
        def(t, "sock_connect", 3, (h, a) -> h.sockets.connectWasmEdge(i(a, 0), p(a, 1), i(a, 2)));
        def(t, "sock_recv", 6, (h, a) -> h.sockets.recv(i(a, 0), p(a, 1), p(a, 2), i(a, 3), p(a, 4), p(a, 5)));
        def(t, "sock_send", 5, (h, a) -> h.sockets.send(i(a, 0), p(a, 1), p(a, 2), i(a, 3), p(a, 4)));
        def(t, "sock_recv_from", 8, (h, a) -> h.sockets.recvFrom(i(a, 0), p(a, 1), p(a, 2), p(a, 3), i(a, 4), p(a, 5),
                p(a, 6), p(a, 7)));
        def(t, "sock_recv_from", 7, (h, a) -> h.sockets.recvFrom(i(a, 0), p(a, 1), p(a, 2), p(a, 3), i(a, 4), 0,
                p(a, 5), p(a, 6)));
        def(t, "sock_send_to", 7, (h, a) -> h.sockets.sendTo(i(a, 0), p(a, 1), p(a, 2), p(a, 3), i(a, 4), i(a, 5),
                p(a, 6)));
        def(t, "sock_shutdown", 2, (h, a) -> h.sockets.shutdown(i(a, 0), i(a, 1)));
        def(t, "sock_getlocaladdr", 4, (h, a) -> h.sockets.address(i(a, 0), false, p(a, 1), p(a, 2), p(a, 3)));
        def(t, "sock_getlocaladdr", 3, (h, a) -> h.sockets.address(i(a, 0), false, p(a, 1), 0, p(a, 2)));
        def(t, "sock_getpeeraddr", 4, (h, a) -> h.sockets.address(i(a, 0), true, p(a, 1), p(a, 2), p(a, 3)));
        def(t, "sock_getpeeraddr", 3, (h, a) -> h.sockets.address(i(a, 0), true, p(a, 1), 0, p(a, 2)));
        def(t, "sock_getsockopt", 5, (h, a) -> h.sockets.getsockopt(i(a, 0), i(a, 1), i(a, 2), p(a, 3), p(a, 4)));
        def(t, "sock_setsockopt", 5, (h, a) -> h.sockets.setsockopt(i(a, 0), i(a, 1), i(a, 2), p(a, 3), i(a, 4)));
        def(t, "sock_getaddrinfo", 8, (h, a) -> h.sockets.getaddrinfo(p(a, 0), p(a, 1), p(a, 2), p(a, 3), p(a, 4),
                p(a, 5), p(a, 6), p(a, 7)));
        return t;
    }
}
