package io.replicode.launcher;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;
import java.time.Instant;
import java.util.Map;

/**
 * One JSON object per log line, as log shippers (Filebeat, Vector, Loki's promtail) take it: {@code @timestamp} (ISO
 * 8601, UTC), {@code level}, {@code logger}, {@code thread}, {@code message}, and {@code app} and {@code stream}
 * when the event has them, {@code exception} with its stack trace when it carries one.
 *
 * <p>Our own, not a library: Logback's {@code JsonEncoder} names its fields otherwise ({@code timestamp} as epoch
 * milliseconds, {@code loggerName}) and logstash-logback-encoder is not served by the build's Maven mirror.
 */
public final class JsonLayout extends LayoutBase<ILoggingEvent> {
    @Override
    public String doLayout(ILoggingEvent e) {
        StringBuilder b = new StringBuilder(256).append('{');
        field(b, "@timestamp", Instant.ofEpochMilli(e.getTimeStamp()).toString()).append(',');
        field(b, "level", e.getLevel().toString()).append(',');
        field(b, "logger", e.getLoggerName()).append(',');
        field(b, "thread", e.getThreadName()).append(',');
        field(b, "message", e.getFormattedMessage());
        Map<String, String> mdc = e.getMDCPropertyMap();
        for (String key : new String[] {"app", "stream"}) {
            String v = mdc == null ? null : mdc.get(key);
            if (v != null) {
                field(b.append(','), key, v);
            }
        }
        IThrowableProxy t = e.getThrowableProxy();
        if (t != null) {
            field(b.append(','), "exception", ThrowableProxyUtil.asString(t));
        }
        return b.append('}').append(CoreConstants.LINE_SEPARATOR).toString();
    }

    private static StringBuilder field(StringBuilder b, String name, String value) {
        quote(b, name).append(':');
        return quote(b, value == null ? "" : value);
    }

    /** {@code s} as a JSON string (RFC 8259 escapes; control characters as \\u00XX). */
    static StringBuilder quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"');
    }
}
