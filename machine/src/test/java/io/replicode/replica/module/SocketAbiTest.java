package io.replicode.replica.module;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.replicode.replica.wasi.SocketAbi;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rule that picks a module's socket interface from its imports, and what a module that breaks it is told. */
class SocketAbiTest {
    private static final String I2 = "(i32,i32)->i32";
    private static final String I3 = "(i32,i32,i32)->i32";
    private static final String I4 = "(i32,i32,i32,i32)->i32";
    private static final String I5 = "(i32,i32,i32,i32,i32)->i32";
    private static final String I6 = "(i32,i32,i32,i32,i32,i32)->i32";

    private static Map<String, String> imports(String... nameThenType) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < nameThenType.length; i += 2) {
            m.put(nameThenType[i], nameThenType[i + 1]);
        }
        return m;
    }

    @Test
    void the_imports_decide_the_interface() {
        assertEquals(SocketAbi.PREVIEW1, SocketAbi.detect(imports("sock_accept", I3, "sock_recv", I6, "fd_write", I4)));
        assertEquals(SocketAbi.PREVIEW1, SocketAbi.detect(imports()));
        assertEquals(SocketAbi.REPLICODE, SocketAbi.detect(imports("sock_open", I4, "sock_listen", I2, "sock_recv", I6)));
        assertEquals(SocketAbi.REPLICODE, SocketAbi.detect(imports("sock_close", "(i32)->i32", "sock_send", I5)));
        assertEquals(SocketAbi.WASMEDGE, SocketAbi.detect(imports("sock_open", I3, "sock_listen", I2)));
        assertEquals(SocketAbi.WASMEDGE, SocketAbi.detect(imports("sock_bind", I3)));
        assertEquals(SocketAbi.WASMEDGE, SocketAbi.detect(imports("sock_accept", I2, "sock_recv", I6)));
        assertEquals(SocketAbi.WASMEDGE, SocketAbi.detect(imports("sock_getaddrinfo", "(i32,i32,i32,i32,i32,i32,i32,i32)->i32")));
    }

    @Test
    void imports_of_two_interfaces_are_refused_with_both_named() {
        ModuleRejectedException e = assertThrows(ModuleRejectedException.class,
                () -> SocketAbi.detect(imports("sock_open", I4, "sock_bind", I3)));
        assertTrue(e.getMessage().contains("sock_bind(i32,i32,i32) are WasmEdge's, sock_open(i32,i32,i32,i32) RepliCode's"),
                e.getMessage());
        assertTrue(e.fix().contains("replicode (sock_accept, sock_close, sock_connect"), e.fix());
    }

    @Test
    void an_import_of_the_wrong_type_or_of_no_interface_is_refused_with_the_interfaces_as_the_fix() {
        ModuleRejectedException wrong = assertThrows(ModuleRejectedException.class, () -> GuestModule.load(
                module("sock_open", 4, "sock_recv", 5), Engine.INTERPRETER));
        assertTrue(wrong.getMessage().contains("imports wasi_snapshot_preview1.sock_recv with type (i32,i32,i32,i32,i32)->i32, "
                + "but the replicode socket interface it uses has (i32,i32,i32,i32,i32,i32)->i32"), wrong.getMessage());
        ModuleRejectedException unknown = assertThrows(ModuleRejectedException.class, () -> GuestModule.load(
                module("sock_open", 3, "sock_frobnicate", 1), Engine.INTERPRETER));
        assertTrue(unknown.getMessage().contains("imports wasi_snapshot_preview1.sock_frobnicate(i32), which Replicode does not"
                + " provide (this module uses the wasmedge socket interface)"), unknown.getMessage());
        assertTrue(unknown.fix().contains("the supported socket interfaces are wasi-preview1 (sock_accept, sock_recv, sock_send,"
                + " sock_shutdown); replicode ("), unknown.fix());
        assertTrue(unknown.fix().contains("wasmedge (sock_accept, sock_bind, sock_connect, sock_getaddrinfo"), unknown.fix());
        ModuleRejectedException listen = assertThrows(ModuleRejectedException.class, () -> GuestModule.load(
                module("sock_listen", 2), Engine.INTERPRETER));
        assertTrue(listen.getMessage().contains("sock_listen(i32,i32), which Replicode does not provide (this module uses the "
                + "wasi-preview1 socket interface)"), listen.getMessage());
    }

    /** A module importing each wasi_snapshot_preview1 function named, taking that many i32s and giving one, with memory. */
    private static byte[] module(Object... nameThenParams) {
        ByteArrayOutputStream types = new ByteArrayOutputStream();
        ByteArrayOutputStream imports = new ByteArrayOutputStream();
        int n = nameThenParams.length / 2;
        types.write(n);
        imports.write(n);
        for (int i = 0; i < n; i++) {
            int params = (Integer) nameThenParams[2 * i + 1];
            types.write(0x60);
            types.write(params);
            for (int p = 0; p < params; p++) {
                types.write(0x7F);
            }
            types.write(1);
            types.write(0x7F);
            name(imports, "wasi_snapshot_preview1");
            name(imports, (String) nameThenParams[2 * i]);
            imports.write(0);
            imports.write(i);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0});
        section(out, 1, types.toByteArray());
        section(out, 2, imports.toByteArray());
        section(out, 5, new byte[] {1, 0, 1});
        return out.toByteArray();
    }

    private static void name(ByteArrayOutputStream o, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        o.write(b.length);
        o.writeBytes(b);
    }

    private static void section(ByteArrayOutputStream o, int id, byte[] body) {
        o.write(id);
        o.write(body.length);
        o.writeBytes(body);
    }
}
