package io.replicode.gateway;

/** The gateway could not listen where it was told: says where, why, and what to do about it. */
public final class ListenException extends io.replicode.FixableException {
    public ListenException(String what, String fix, Throwable cause) {
        super(what, fix, cause);
    }

    /** A failed bind of {@code where} ("tcp 127.0.0.1:6380 for app 'kv'") turned into a message a user can act on. */
    public static ListenException of(String where, String host, int port, Throwable t) {
        if (t instanceof java.net.BindException || String.valueOf(t.getMessage()).contains("in use")) {
            return new ListenException("cannot listen on " + where + ": the port is in use",
                    "stop the program using it (see `ss -ltnp 'sport = :" + port + "'`) or choose another port", t);
        }
        return new ListenException("cannot listen on " + where + ": " + t.getMessage(),
                "check the host (" + host + ": an address of this machine, e.g. 127.0.0.1 or 0.0.0.0) and the port", t);
    }
}
