package io.replicode.replica.guests;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Test-side decoding of what the kv server sends: RESP2 replies and HTTP/1.1 responses. */
final class KvWire {
    private KvWire() {}

    /** A RESP error reply. */
    record Err(String text) {}

    /** Decodes one RESP2 value from the start of {@code s}: String (simple or bulk), Long, List, Err or null. */
    static Object decode(String s) {
        int[] at = {0};
        Object v = decode(s, at);
        if (at[0] != s.length()) {
            throw new AssertionError("trailing bytes after a RESP value: " + s.substring(at[0]));
        }
        return v;
    }

    private static Object decode(String s, int[] at) {
        char type = s.charAt(at[0]);
        int eol = s.indexOf("\r\n", at[0]);
        String head = s.substring(at[0] + 1, eol);
        at[0] = eol + 2;
        switch (type) {
            case '+':
                return head;
            case '-':
                return new Err(head);
            case ':':
                return Long.parseLong(head);
            case '$': {
                int n = Integer.parseInt(head);
                if (n < 0) {
                    return null;
                }
                String v = s.substring(at[0], at[0] + n);
                at[0] += n + 2;
                return v;
            }
            case '*': {
                int n = Integer.parseInt(head);
                List<Object> items = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    items.add(decode(s, at));
                }
                return items;
            }
            default:
                throw new AssertionError("not a RESP value: " + s.substring(at[0] - head.length() - 3));
        }
    }

    /** One HTTP response: status, headers (names lower-cased), body. */
    record Response(int status, String reason, Map<String, String> headers, String body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /**
     * Splits pipelined responses; {@code heads} says, per response in order, whether it answers a HEAD (its
     * Content-Length announces a body that is not there). Missing entries mean "not HEAD".
     */
    static List<Response> responses(String raw, boolean... heads) {
        List<Response> out = new ArrayList<>();
        int at = 0;
        while (at < raw.length()) {
            int end = raw.indexOf("\r\n\r\n", at);
            if (end < 0) {
                throw new AssertionError("incomplete response head: " + raw.substring(at));
            }
            String[] lines = raw.substring(at, end).split("\r\n");
            String[] status = lines[0].split(" ", 3);
            if (!status[0].equals("HTTP/1.1")) {
                throw new AssertionError("not a status line: " + lines[0]);
            }
            Map<String, String> headers = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                headers.put(lines[i].substring(0, colon).toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
            int code = Integer.parseInt(status[1]);
            boolean head = out.size() < heads.length && heads[out.size()];
            String length = headers.get("content-length");
            int n = head || length == null || code == 100 ? 0 : Integer.parseInt(length);
            at = end + 4;
            out.add(new Response(code, status.length > 2 ? status[2] : "", headers, raw.substring(at, at + n)));
            at += n;
        }
        return out;
    }

    static Response response(String raw, boolean... heads) {
        List<Response> all = responses(raw, heads);
        if (all.size() != 1) {
            throw new AssertionError("expected one response, got " + all.size() + ": " + raw);
        }
        return all.get(0);
    }

    static byte[] latin1(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
