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
    /** A connection the guest opened to an upstream (its listener name is empty). */
    boolean outbound;
    /** Outbound only: -1 while the connect is pending, 0 once connected, else the errno it failed with. */
    int connectErrno = -1;
    /** Outbound only: the sequencer epoch of the frame that connected; a frame of another epoch resets it. */
    long epoch;
    /** Outbound only: the upstream, {@code host:port}, and what the host resolved it to ("" until known). */
    String target = "";
    /**
     * Bytes of the guest's current blocking RepliCode {@code sock_send} already sent: that interface sends a whole
     * buffer before it returns, parking as often as the window needs (0 when no such send is in progress).
     */
    long wholeSendDone;
    /** Outbound only: the guest's connect call has been told the outcome (a later connect gets ISCONN). */
    boolean connectReported;
    String resolved = "";

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
        return received.size() > 0 || peerClosed || reset || readShut || connectErrno > 0;
    }

    /** Bytes a read would return now. */
    public int available() {
        return received.size();
    }

    /** Whether a read would report the end of the stream or an error (poll's hang-up flag). */
    public boolean hangup() {
        return (peerClosed && received.size() == 0) || reset;
    }

    /** Writable, or (an outbound connection) its connect failed: a poll for writing reports both, as on Linux. */
    public boolean writable() {
        if (outbound && connectErrno != 0) {
            return connectErrno > 0;
        }
        return sendCredit > 0 && !reset && !writeShut;
    }

    public long wholeSendDone() {
        return wholeSendDone;
    }

    public void wholeSendDone(long done) {
        wholeSendDone = done;
    }

    public boolean outbound() {
        return outbound;
    }

    /** Outbound only: -1 while pending, 0 connected, else the errno the connect failed with. */
    public int connectErrno() {
        return connectErrno;
    }

    public String target() {
        return target;
    }

    public String resolved() {
        return resolved;
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
