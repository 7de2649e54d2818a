package io.replicode.replica.guests;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** HTTP/1.1 as a client writes and reads it, for the image server tests. */
final class ImageHttp {
    private ImageHttp() {}

    /** One response; header names are lower-cased. */
    record Response(int status, String reason, Map<String, String> headers, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        @Override
        public String toString() {
            return status + " " + reason + " " + headers + " " + ImageGuest.preview(body);
        }
    }

    /** A request with Host and, when there is a body, Content-Length; {@code headers} are "Name: value" lines. */
    static byte[] request(String method, String target, byte[] body, String... headers) {
        StringBuilder head = new StringBuilder();
        head.append(method).append(' ').append(target).append(" HTTP/1.1\r\nHost: localhost\r\n");
        for (String h : headers) {
            head.append(h).append("\r\n");
        }
        if (body != null) {
            head.append("Content-Length: ").append(body.length).append("\r\n");
        }
        head.append("\r\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (body != null) {
            out.writeBytes(body);
        }
        return out.toByteArray();
    }

    static byte[] get(String target) {
        return request("GET", target, null);
    }

    static byte[] put(String target, byte[] body) {
        return request("PUT", target, body, "Content-Type: application/octet-stream");
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /**
     * Parses every response in a byte stream, in order. {@code head[i]} says whether request i was a HEAD
     * (its response has no body whatever Content-Length says); 1xx responses are skipped.
     */
    static List<Response> parseAll(byte[] stream, boolean... head) {
        List<Response> out = new ArrayList<>();
        int at = 0;
        while (at < stream.length) {
            int end = indexOf(stream, at, "\r\n\r\n");
            if (end < 0) {
                throw new AssertionError("incomplete response head at byte " + at + ": "
                        + ImageGuest.preview(Arrays.copyOfRange(stream, at, stream.length)));
            }
            String[] lines = new String(stream, at, end - at, StandardCharsets.ISO_8859_1).split("\r\n");
            String[] status = lines[0].split(" ", 3);
            if (!status[0].equals("HTTP/1.1")) {
                throw new AssertionError("bad status line: " + lines[0]);
            }
            int code = Integer.parseInt(status[1]);
            Map<String, String> headers = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
            at = end + 4;
            if (code < 200) {
                continue;
            }
            boolean noBody = (out.size() < head.length && head[out.size()]) || code == 204;
            int len = noBody ? 0 : Integer.parseInt(headers.getOrDefault("content-length", "0"));
            if (at + len > stream.length) {
                throw new AssertionError("response body cut short: " + (stream.length - at) + " of " + len + " bytes");
            }
            out.add(new Response(code, status.length > 2 ? status[2] : "", headers, Arrays.copyOfRange(stream, at, at + len)));
            at += len;
        }
        return out;
    }

    /** The single response in a stream. */
    static Response parse(byte[] stream) {
        List<Response> all = parseAll(stream);
        if (all.size() != 1) {
            throw new AssertionError("expected one response, got " + all.size() + ": " + all);
        }
        return all.get(0);
    }

    static int indexOf(byte[] hay, int from, String needle) {
        byte[] n = needle.getBytes(StandardCharsets.ISO_8859_1);
        outer:
        for (int i = from; i + n.length <= hay.length; i++) {
            for (int k = 0; k < n.length; k++) {
                if (hay[i + k] != n[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
