package io.replicode.replica.wasi.net;

/**
 * One virtual TCP connection as the guest sees it: a bounded receive buffer fed by frame events, and a
 * send side limited by the window the gateway grants.
 */
public final class StreamSocket {
    final long connection;
    final String listener;
    final ByteRing received;
    /** Stream offset of the next byte the guest sends. */
    long sendOffset;
    /** Bytes the guest may still send before the gateway grants more window. */
    long sendCredit;
    /** Bytes the guest consumed since the last window output. */
    long consumed;
    boolean peerClosed;
    boolean reset;
    boolean resetReported;
    boolean readShut;
    boolean writeShut;
    boolean accepted;

    StreamSocket(long connection, String listener, int receiveBuffer, long sendCredit) {
        this.connection = connection;
        this.listener = listener;
        this.received = new ByteRing(receiveBuffer);
        this.sendCredit = sendCredit;
    }

    public long connection() {
        return connection;
    }

    public String listener() {
        return listener;
    }

    /** Readable: data, end of stream, or an error is waiting. */
    public boolean readable() {
        return received.size() > 0 || peerClosed || reset || readShut;
    }

    /** Bytes a read would return now. */
    public int available() {
        return received.size();
    }

    /** Whether a read would report the end of the stream or an error (poll's hang-up flag). */
    public boolean hangup() {
        return (peerClosed && received.size() == 0) || reset;
    }

    public boolean writable() {
        return sendCredit > 0 && !reset && !writeShut;
    }

    public long sendCredit() {
        return sendCredit;
    }

    public boolean isReset() {
        return reset;
    }

    public boolean isWriteShut() {
        return writeShut;
    }
}
