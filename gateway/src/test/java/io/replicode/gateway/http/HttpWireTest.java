package io.replicode.gateway.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HttpWireTest {
    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    private static DefaultHttpRequest request(HttpMethod method, String uri, String... headers) {
        DefaultHttpHeaders h = new DefaultHttpHeaders();
        for (int i = 0; i < headers.length; i += 2) {
            h.add(headers[i], headers[i + 1]);
        }
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, uri, h);
    }

    @Test
    void request_with_length_is_encoded_as_is() {
        HttpWire wire = new HttpWire();
        String head = text(wire.request(request(HttpMethod.PUT, "/hello?x=1", "Host", "h", "Content-Length", "5",
                "Connection", "close")));
        assertEquals("PUT /hello?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: close\r\n\r\n", head);
        assertEquals("world", text(wire.content(bytes("world"))));
        assertEquals("", text(wire.last()));
        wire.close();
    }

    @Test
    void chunked_request_body_is_chunked_again() {
        HttpWire wire = new HttpWire();
        wire.request(request(HttpMethod.POST, "/", "Transfer-Encoding", "chunked"));
        assertEquals("3\r\nabc\r\n", text(wire.content(bytes("abc"))));
        assertEquals("0\r\n\r\n", text(wire.last()));
        wire.close();
    }

    @Test
    void response_arrives_in_parts_across_pieces() {
        HttpWire wire = new HttpWire();
        wire.request(request(HttpMethod.GET, "/k"));
        List<HttpWire.Part> parts = new ArrayList<>(wire.response(bytes("HTTP/1.1 200 OK\r\nContent-Le")));
        assertEquals(List.of(), parts);
        parts.addAll(wire.response(bytes("ngth: 5\r\nX-A: b\r\n\r\nwor")));
        parts.addAll(wire.response(bytes("ld")));
        HttpWire.Head head = assertInstanceOf(HttpWire.Head.class, parts.get(0));
        assertEquals(200, head.response().status().code());
        assertEquals("b", head.response().headers().get("X-A"));
        StringBuilder body = new StringBuilder();
        for (HttpWire.Part p : parts) {
            if (p instanceof HttpWire.Body b) {
                body.append(text(b.bytes()));
            }
        }
        assertEquals("world", body.toString());
        assertInstanceOf(HttpWire.End.class, parts.get(parts.size() - 1));
        wire.close();
    }

    @Test
    void head_response_has_no_body_despite_its_length() {
        HttpWire wire = new HttpWire();
        wire.request(request(HttpMethod.HEAD, "/k"));
        List<HttpWire.Part> parts = wire.response(bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"));
        assertEquals(2, parts.size());
        assertInstanceOf(HttpWire.Head.class, parts.get(0));
        assertInstanceOf(HttpWire.End.class, parts.get(1));
        wire.close();
    }

    @Test
    void response_delimited_by_close_ends_at_the_close() {
        HttpWire wire = new HttpWire();
        wire.request(request(HttpMethod.GET, "/k"));
        List<HttpWire.Part> parts = new ArrayList<>(wire.response(bytes("HTTP/1.1 200 OK\r\n\r\nuntil close")));
        assertEquals(2, parts.size(), "head and body, no end yet: " + parts);
        parts.addAll(wire.end());
        assertInstanceOf(HttpWire.End.class, parts.get(parts.size() - 1));
    }

    @Test
    void garbage_is_a_bad_response() {
        HttpWire wire = new HttpWire();
        wire.request(request(HttpMethod.GET, "/k"));
        List<HttpWire.Part> parts = wire.response(bytes("VALUE world\r\n\r\n"));
        assertTrue(parts.stream().anyMatch(p -> p instanceof HttpWire.Bad), parts.toString());
        wire.close();
    }
}
