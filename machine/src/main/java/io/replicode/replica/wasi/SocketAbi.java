package io.replicode.replica.wasi;

import io.replicode.replica.module.ModuleRejectedException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The socket interface a module was written against. Three share the {@code wasi_snapshot_preview1} namespace, and
 * two of them give the same names ({@code sock_open}, {@code sock_recv}, {@code sock_send}, {@code sock_connect})
 * other meanings, so the host picks one per module, at load, from what the module imports:
 *
 * <ol>
 *   <li>An import that only WasmEdge's socket extension has ({@code sock_bind}, {@code sock_getlocaladdr},
 *       {@code sock_getpeeraddr}, {@code sock_getsockopt}, {@code sock_setsockopt}, {@code sock_getaddrinfo},
 *       {@code sock_recv_from}, {@code sock_send_to}), a three-argument {@code sock_open} or a two-argument
 *       {@code sock_accept} makes it {@link #WASMEDGE}.</li>
 *   <li>Otherwise an import that only RepliCode's runtime has ({@code sock_close}) or a four-argument
 *       {@code sock_open} makes it {@link #REPLICODE}.</li>
 *   <li>Otherwise it is {@link #PREVIEW1}: the app's listeners are preopened at fds 3.. and the guest only accepts,
 *       receives, sends and shuts down.</li>
 * </ol>
 * A module whose imports point both ways is refused, and so is an import whose type is not the chosen interface's.
 */
public enum SocketAbi {
    /** WASI preview 1: listeners preopened at fd 3.. ({@code wasmtime --tcplisten}); no socket is opened. */
    PREVIEW1("wasi-preview1"),
    /**
     * RepliCode's runtime: {@code sock_open(domain, type, protocol, *fd)}, {@code sock_listen}, {@code sock_accept},
     * {@code sock_recv}/{@code sock_send} on a plain buffer, {@code sock_shutdown}, {@code sock_close},
     * {@code sock_connect(fd, *sockaddr_in, len)}.
     */
    REPLICODE("replicode"),
    /**
     * WasmEdge's socket extension: {@code sock_open(af, type, *fd)}, {@code sock_bind(fd, *addr, port)},
     * {@code sock_connect(fd, *addr, port)}, iovec {@code sock_recv}/{@code sock_send}, addresses, options and name
     * resolution.
     */
    WASMEDGE("wasmedge");

    private static final String I2 = "(i32,i32)->i32";
    private static final String I3 = "(i32,i32,i32)->i32";
    private static final String I4 = "(i32,i32,i32,i32)->i32";

    private static final Set<String> WASMEDGE_ONLY = Set.of("sock_bind", "sock_getlocaladdr", "sock_getpeeraddr",
            "sock_getsockopt", "sock_setsockopt", "sock_getaddrinfo", "sock_recv_from", "sock_send_to");
    private static final Set<String> REPLICODE_ONLY = Set.of("sock_close");

    private final String label;

    SocketAbi(String label) {
        this.label = label;
    }

    /** The name {@code /status} and the docs give it. */
    public String label() {
        return label;
    }

    /** Whether the guest opens its own sockets (and claims the app's listeners) rather than finding them at fd 3.. */
    public boolean opensSockets() {
        return this != PREVIEW1;
    }

    /**
     * The interface of a module whose {@code wasi_snapshot_preview1} function imports are {@code imports} (name to
     * type, as {@code (i32,i32)->i32}). Throws {@link ModuleRejectedException} when they point at two interfaces.
     */
    public static SocketAbi detect(Map<String, String> imports) {
        List<String> wasmedge = new ArrayList<>();
        List<String> replicode = new ArrayList<>();
        for (var e : imports.entrySet()) {
            String name = e.getKey();
            String type = e.getValue();
            if (WASMEDGE_ONLY.contains(name) || (name.equals("sock_open") && type.equals(I3))
                    || (name.equals("sock_accept") && type.equals(I2))) {
                wasmedge.add(name + type.substring(0, type.indexOf("->")));
            } else if (REPLICODE_ONLY.contains(name) || (name.equals("sock_open") && type.equals(I4))) {
                replicode.add(name + type.substring(0, type.indexOf("->")));
            }
        }
        if (!wasmedge.isEmpty() && !replicode.isEmpty()) {
            throw new ModuleRejectedException("the module's socket imports mix two interfaces: " + String.join(", ", wasmedge)
                    + " are WasmEdge's, " + String.join(", ", replicode) + " RepliCode's",
                    "build against one of them; " + supported());
        }
        return !wasmedge.isEmpty() ? WASMEDGE : !replicode.isEmpty() ? REPLICODE : PREVIEW1;
    }

    /** The {@code Fix:} text listing what each interface provides. */
    public static String supported() {
        StringBuilder b = new StringBuilder("the supported socket interfaces are");
        String sep = " ";
        for (SocketAbi abi : values()) {
            b.append(sep).append(abi.label).append(" (").append(String.join(", ", WasiPreview1.socketFunctionNames(abi)))
                    .append(')');
            sep = "; ";
        }
        return b.append("; see docs/guest-authoring.md, \"Socket interfaces\"").toString();
    }
}
