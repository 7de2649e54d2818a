package io.replicode.gateway.limits;

import java.util.Objects;

/** A new connection the gateway will not open: why (for the count and the status code) and what to tell the client. */
public record Refusal(Reason reason, String message) {
    public Refusal {
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(message, "message");
    }

    /** The HTTP status a client gets: 429 when it holds too many connections itself, 503 otherwise. */
    public int httpStatus() {
        return reason == Reason.CLIENT_CAP ? 429 : 503;
    }
}
