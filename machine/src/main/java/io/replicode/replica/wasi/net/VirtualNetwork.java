package io.replicode.replica.wasi.net;

import io.replicode.nat.IngressEvent;
import io.replicode.nat.Output;
import io.replicode.replica.wasi.Errno;
import io.replicode.replica.wasi.OutputBuffer;
import io.replicode.replica.wasi.WasiException;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The guest's view of the network: its listening sockets and the virtual connections that frame events
 * open, feed, half-close and reset. Every decision here depends only on events and guest calls, so
 * every replica reaches the same state.
 */
public final class VirtualNetwork {
    /** The gateway id in the ids of connections the guest opens to its upstreams ({@link io.replicode.nat.ConnectionIds}). */
    public static final int UPSTREAM_GATEWAY = io.replicode.nat.ConnectionIds.UPSTREAM_GATEWAY;

    private final Map<String, ListenerSocket> listeners = new LinkedHashMap<>();
    private final Map<String, Integer> listenerPorts;
    private final List<io.replicode.replica.Upstream> upstreams;
    private final TreeMap<Long, StreamSocket> connections = new TreeMap<>();
    private final int backlogLimit;
    private final int receiveBuffer;
    private final long initialSendWindow;
    private final OutputBuffer out;
    private long refusedOpens;
    private long ignoredEvents;
    private long overflowResets;
    private long refusedConnects;
    private long outboundCounter;

    public VirtualNetwork(List<String> listenerNames, int backlogLimit, int receiveBuffer, long initialSendWindow,
                          OutputBuffer out) {
        this(listenerNames, Map.of(), List.of(), backlogLimit, receiveBuffer, initialSendWindow, out);
    }

    /**
     * @param listenerPorts the gateway port of each listener that has one (a guest binding that port claims it)
     * @param upstreams     the services the guest may connect to
     */
    public VirtualNetwork(List<String> listenerNames, Map<String, Integer> listenerPorts,
                          List<io.replicode.replica.Upstream> upstreams, int backlogLimit, int receiveBuffer,
                          long initialSendWindow, OutputBuffer out) {
        this.listenerPorts = Map.copyOf(listenerPorts);
        this.upstreams = List.copyOf(upstreams);
        for (String name : listenerNames) {
            if (listeners.put(name, new ListenerSocket(name)) != null) {
                throw new IllegalArgumentException("listener '" + name + "' declared twice");
            }
        }
        this.backlogLimit = backlogLimit;
        this.receiveBuffer = receiveBuffer;
        this.initialSendWindow = initialSendWindow;
        this.out = out;
    }

    public List<ListenerSocket> listeners() {
        return List.copyOf(listeners.values());
    }

    /** Open connections in connection-id order. */
    public List<StreamSocket> connections() {
        return List.copyOf(connections.values());
    }

    /** Number of open connections, without copying them. */
    public int connectionCount() {
        return connections.size();
    }

    public long refusedOpens() {
        return refusedOpens;
    }

    public long ignoredEvents() {
        return ignoredEvents;
    }

    public long overflowResets() {
        return overflowResets;
    }

    /** Connects refused at once because the target is not one of the app's upstreams. */
    public long refusedConnects() {
        return refusedConnects;
    }

    /** Connections the guest holds to its upstreams (pending ones included). */
    public int outboundCount() {
        int n = 0;
        for (StreamSocket s : connections.values()) {
            if (s.outbound) {
                n++;
            }
        }
        return n;
    }

    public List<io.replicode.replica.Upstream> upstreams() {
        return upstreams;
    }

    // ---- sockets the guest opens itself ----

    /**
     * A guest's {@code listen}: it claims the declared listener whose gateway port is {@code port} when there is one
     * and it is free, else the first free listener in declared order. ADDRINUSE when every listener is held.
     */
    public ListenerSocket claim(int port) {
        ListenerSocket chosen = null;
        for (ListenerSocket l : listeners.values()) {
            Integer p = listenerPorts.get(l.name);
            if (!l.claimed && p != null && p == port) {
                chosen = l;
                break;
            }
        }
        if (chosen == null) {
            for (ListenerSocket l : listeners.values()) {
                if (!l.claimed) {
                    chosen = l;
                    break;
                }
            }
        }
        if (chosen == null) {
            throw new WasiException(Errno.ADDRINUSE, "listen: every listener the app declares (" + listeners.size()
                    + ") is already held by a socket");
        }
        chosen.claimed = true;
        return chosen;
    }

    /** The guest closed the socket that held {@code l}: another may claim it; connections waiting stay queued. */
    public void release(ListenerSocket l) {
        l.claimed = false;
    }

    /** The port a guest's listener answers on as the gateway sees it (0 when it has none: HTTP or unmapped). */
    public int portOf(ListenerSocket l) {
        Integer p = listenerPorts.get(l.name);
        return p == null ? 0 : p;
    }

    /**
     * A guest's connect to {@code address:port} (IPv4 as an int) in a frame of sequencer epoch {@code epoch}: when an
     * upstream is reached by it, a pending outbound connection and an {@link Output.Connect}; else CONNREFUSED at once
     * (counted), the same on every replica.
     */
    public StreamSocket connect(int address, int port, long epoch) {
        io.replicode.replica.Upstream u = io.replicode.replica.Upstream.reachedBy(upstreams, address, port);
        if (u == null) {
            throw refused(ipv4(address) + ":" + port);
        }
        if (outboundCounter >= io.replicode.nat.ConnectionIds.MAX_COUNTER) {
            throw new WasiException(Errno.ADDRNOTAVAIL, "connect: the app used up its outbound connection ids");
        }
        long id = io.replicode.nat.ConnectionIds.of(UPSTREAM_GATEWAY, ++outboundCounter);
        StreamSocket s = new StreamSocket(id, "", receiveBuffer, initialSendWindow);
        s.outbound = true;
        s.accepted = true;
        s.epoch = epoch;
        s.target = u.toString();
        connections.put(id, s);
        out.add(new Output.Connect(id, epoch, s.target));
        return s;
    }

    /** A connect to {@code target}, which is not one of the app's upstreams: counted, and CONNREFUSED to throw. */
    public WasiException refused(String target) {
        refusedConnects++;
        return new WasiException(Errno.CONNREFUSED, "connect: " + target + " is not one of the app's upstreams");
    }

    /**
     * The state of an outbound connect: AGAIN while pending, the errno it failed with, else SUCCESS. Reported once as a
     * failure; afterwards the socket is not connected.
     */
    public int connectOutcome(StreamSocket s) {
        if (s.connectErrno < 0) {
            throw WasiException.WOULD_BLOCK;
        }
        if (s.connectReported && s.connectErrno == 0) {
            return Errno.ISCONN;
        }
        s.connectReported = true;
        return s.connectErrno;
    }

    /**
     * A frame of sequencer epoch {@code epoch} begins: outbound connections opened under another epoch lost their
     * connector (sequencing moved, or the node restarted) and are reset here, at the same frame on every replica.
     */
    public void beginEpoch(long epoch) {
        for (StreamSocket s : connections.values()) {
            if (s.outbound && s.epoch != epoch && !s.reset && s.connectErrno <= 0) {
                if (s.connectErrno < 0) {
                    s.connectErrno = Errno.CONNABORTED;
                } else {
                    s.reset = true;
                    s.received.clear();
                }
                out.add(new Output.Reset(s.connection));
            }
        }
    }

    static String ipv4(int a) {
        return (a >>> 24) + "." + ((a >>> 16) & 0xFF) + "." + ((a >>> 8) & 0xFF) + "." + (a & 0xFF);
    }

    /** Applies one ingress event; events about unknown or finished connections are counted and ignored. */
    public void onEvent(IngressEvent event) {
        if (event instanceof IngressEvent.Open open) {
            open(open);
        } else if (event instanceof IngressEvent.Data data) {
            data(data);
        } else if (event instanceof IngressEvent.HalfClose hc) {
            StreamSocket s = connections.get(hc.connection());
            if (s == null || s.reset) {
                ignoredEvents++;
            } else {
                s.peerClosed = true;
            }
        } else if (event instanceof IngressEvent.Reset reset) {
            peerReset(reset.connection());
        } else if (event instanceof IngressEvent.Window w) {
            StreamSocket s = connections.get(w.connection());
            if (s == null) {
                ignoredEvents++;
            } else {
                s.sendCredit += w.bytes();
            }
        } else if (event instanceof IngressEvent.Connected c) {
            StreamSocket s = connections.get(c.connection());
            if (s == null || !s.outbound || s.connectErrno >= 0) {
                ignoredEvents++;
            } else {
                s.connectErrno = c.errno();
                s.resolved = c.address();
            }
        } else if (event instanceof IngressEvent.GatewayLost lost) {
            for (StreamSocket s : List.copyOf(connections.values())) {
                if (lost.gateway() == IngressEvent.GatewayLost.ALL
                        || io.replicode.nat.ConnectionIds.gateway(s.connection) == lost.gateway()) {
                    peerReset(s.connection);
                }
            }
        }
    }

    private void open(IngressEvent.Open open) {
        ListenerSocket l = listeners.get(open.listener());
        if (connections.containsKey(open.connection())) {
            ignoredEvents++;
            return;
        }
        if (l == null || l.hungUp || l.backlog.size() >= backlogLimit) {
            refusedOpens++;
            out.add(new Output.Reset(open.connection()));
            return;
        }
        StreamSocket s = new StreamSocket(open.connection(), l.name, receiveBuffer, initialSendWindow);
        connections.put(s.connection, s);
        l.backlog.addLast(s);
    }

    private void data(IngressEvent.Data data) {
        StreamSocket s = connections.get(data.connection());
        if (s == null) {
            // Bytes for a connection the guest closed (or never had): as a closed TCP socket answers, a reset, so a
            // client that goes on writing after the server closed (Redis's protocol desync) learns it.
            ignoredEvents++;
            out.add(new Output.Reset(data.connection()));
            return;
        }
        if (s.reset || s.peerClosed || (s.outbound && s.connectErrno != 0)) {
            ignoredEvents++;
            return;
        }
        if (s.readShut) {
            // Reading side shut by the guest: bytes are consumed and discarded, the window still moves.
            s.consumed += data.bytes().length;
            return;
        }
        if (data.bytes().length > s.received.free()) {
            // The sender ignored the advertised window: refuse the connection rather than buffer without bound.
            overflowResets++;
            s.reset = true;
            s.received.clear();
            out.add(new Output.Reset(s.connection));
            return;
        }
        s.received.write(data.bytes());
    }

    private void peerReset(long connection) {
        StreamSocket s = connections.get(connection);
        if (s == null) {
            ignoredEvents++;
            return;
        }
        if (s.outbound && s.connectErrno < 0) {
            s.connectErrno = Errno.CONNREFUSED;
            return;
        }
        s.reset = true;
        s.received.clear();
        if (!s.accepted) {
            listeners.get(s.listener).backlog.remove(s);
            connections.remove(connection);
        }
    }

    /**
     * The app is being upgraded: every listener hangs up (new connections are refused, {@link #accept} fails with
     * CONNABORTED, a poll reports the hang-up) and the connections still waiting in a backlog are reset. Accepted
     * connections go on until the old guest exits. Idempotent.
     */
    public void hangUpListeners() {
        for (ListenerSocket l : listeners.values()) {
            l.hungUp = true;
            for (StreamSocket s : l.backlog) {
                connections.remove(s.connection);
                out.add(new Output.Reset(s.connection));
            }
            l.backlog.clear();
        }
    }

    /** Takes the oldest pending connection of {@code l}; AGAIN when there is none, CONNABORTED once it hung up. */
    public StreamSocket accept(ListenerSocket l) {
        if (l.hungUp) {
            throw new WasiException(Errno.CONNABORTED, "listener '" + l.name + "' hung up");
        }
        StreamSocket s = l.backlog.pollFirst();
        if (s == null) {
            throw WasiException.WOULD_BLOCK;
        }
        s.accepted = true;
        return s;
    }

    /**
     * Reads up to {@code max} bytes: an empty array means end of stream; AGAIN when nothing is buffered yet;
     * CONNRESET once after a reset, then end of stream.
     */
    public byte[] receive(StreamSocket s, int max) {
        notConnectedYet(s, "recv");
        if (s.reset) {
            if (!s.resetReported) {
                s.resetReported = true;
                throw new WasiException(Errno.CONNRESET, "recv: connection reset by peer");
            }
            return new byte[0];
        }
        if (s.readShut) {
            return new byte[0];
        }
        if (s.received.size() == 0) {
            if (s.peerClosed) {
                return new byte[0];
            }
            throw WasiException.WOULD_BLOCK;
        }
        byte[] b = s.received.read(max);
        s.consumed += b.length;
        return b;
    }

    /** An outbound connection whose connect is pending waits (AGAIN); one whose connect failed is not connected. */
    private static void notConnectedYet(StreamSocket s, String call) {
        if (s.outbound && s.connectErrno != 0) {
            if (s.connectErrno < 0) {
                throw WasiException.WOULD_BLOCK;
            }
            throw new WasiException(Errno.NOTCONN, call + ": the connect to " + s.target + " failed");
        }
    }

    /** Copies bytes from the receive buffer without consuming them (MSG_PEEK). */
    public byte[] peek(StreamSocket s, int max) {
        notConnectedYet(s, "recv");
        byte[] all = s.received.peekAll();
        if (all.length == 0) {
            if (s.reset || s.peerClosed || s.readShut) {
                return all;
            }
            throw WasiException.WOULD_BLOCK;
        }
        return all.length <= max ? all : java.util.Arrays.copyOf(all, max);
    }

    /** Sends as much of {@code data} as the window allows; returns the count (AGAIN when the window is closed). */
    public int send(StreamSocket s, byte[] data, int len) {
        notConnectedYet(s, "send");
        if (s.reset) {
            if (!s.resetReported) {
                s.resetReported = true;
                throw new WasiException(Errno.CONNRESET, "send: connection reset by peer");
            }
            throw new WasiException(Errno.PIPE, "send: connection was reset");
        }
        if (s.writeShut) {
            throw new WasiException(Errno.PIPE, "send: sending side already shut down");
        }
        if (len == 0) {
            return 0;
        }
        if (s.sendCredit <= 0) {
            throw WasiException.WOULD_BLOCK;
        }
        int n = (int) Math.min(len, s.sendCredit);
        byte[] chunk = n == data.length ? data : java.util.Arrays.copyOf(data, n);
        out.add(new Output.Send(s.connection, s.sendOffset, chunk));
        s.sendOffset += n;
        s.sendCredit -= n;
        return n;
    }

    /** shutdown(2): {@code read} discards further input, {@code write} sends FIN after the bytes sent so far. */
    public void shutdown(StreamSocket s, boolean read, boolean write) {
        if (s.reset || (s.outbound && s.connectErrno != 0)) {
            throw new WasiException(Errno.NOTCONN, "shutdown: connection was reset");
        }
        if (read && !s.readShut) {
            s.readShut = true;
            s.consumed += s.received.size();
            s.received.clear();
        }
        if (write && !s.writeShut) {
            s.writeShut = true;
            out.add(new Output.Close(s.connection, s.sendOffset));
        }
    }

    /** The guest closed its descriptor: FIN if not sent yet, and the connection is forgotten. */
    public void close(StreamSocket s) {
        if (s.outbound && s.connectErrno != 0) {
            if (s.connectErrno < 0) {
                out.add(new Output.Reset(s.connection)); // the connector drops the connect it may be making
            }
        } else if (!s.reset && !s.writeShut) {
            s.writeShut = true;
            out.add(new Output.Close(s.connection, s.sendOffset));
        }
        connections.remove(s.connection);
    }

    /** Emits a window output for every connection that consumed input during this frame. */
    public void flushWindows() {
        for (StreamSocket s : connections.values()) {
            if (s.consumed > 0 && !s.reset) {
                out.add(new Output.Window(s.connection, (int) Math.min(Integer.MAX_VALUE, s.consumed)));
            }
            s.consumed = 0;
        }
    }

    /** The app stopped: every connection, accepted or pending, is reset. */
    public void resetAll() {
        for (StreamSocket s : connections.values()) {
            if (!s.reset) {
                out.add(new Output.Reset(s.connection));
            }
        }
        connections.clear();
        for (ListenerSocket l : listeners.values()) {
            l.backlog.clear();
        }
    }

    /** Writes the canonical state: listeners' backlogs and every connection with its buffered bytes (format 5). */
    public void writeTo(DataOutputStream d) throws IOException {
        d.writeLong(refusedOpens);
        d.writeLong(ignoredEvents);
        d.writeLong(overflowResets);
        d.writeInt(connections.size());
        for (StreamSocket s : connections.values()) {
            d.writeLong(s.connection);
            d.writeBoolean(s.outbound);
            if (s.outbound) {
                d.writeLong(s.epoch);
                d.writeInt(s.connectErrno);
                d.writeUTF(s.target);
                d.writeUTF(s.resolved);
            } else {
                d.writeUTF(s.listener);
            }
            d.writeLong(s.sendOffset);
            d.writeLong(s.sendCredit);
            d.writeLong(s.consumed);
            d.writeLong(s.wholeSendDone);
            int flags = (s.peerClosed ? 1 : 0) | (s.reset ? 2 : 0) | (s.resetReported ? 4 : 0) | (s.readShut ? 8 : 0)
                    | (s.writeShut ? 16 : 0) | (s.accepted ? 32 : 0) | (s.connectReported ? 64 : 0);
            d.writeByte(flags);
            byte[] buffered = s.received.peekAll();
            d.writeInt(buffered.length);
            d.write(buffered);
        }
        d.writeInt(listeners.size());
        for (ListenerSocket l : listeners.values()) {
            d.writeUTF(l.name);
            d.writeBoolean(l.claimed);
            d.writeInt(l.backlog.size());
            for (StreamSocket s : l.backlog) {
                d.writeLong(s.connection);
            }
        }
        d.writeLong(refusedConnects);
        d.writeLong(outboundCounter);
    }

    /**
     * Replaces this network's state with one written by {@link #writeTo} in snapshot format {@code version}: before
     * version 5 there were no outbound connections and no listener claims.
     */
    public void readFrom(DataInputStream d, int version) throws IOException {
        boolean v5 = version >= 5;
        refusedOpens = d.readLong();
        ignoredEvents = d.readLong();
        overflowResets = d.readLong();
        int count = d.readInt();
        // Pending connections are bounded by the backlogs, accepted ones by the descriptor limit (at most 65536).
        checkCount(count, listeners.size() * backlogLimit + 65_536, "connections");
        connections.clear();
        for (int i = 0; i < count; i++) {
            long conn = d.readLong();
            boolean outbound = v5 && d.readBoolean();
            StreamSocket s;
            if (outbound) {
                if (io.replicode.nat.ConnectionIds.gateway(conn) != UPSTREAM_GATEWAY) {
                    throw new IOException("snapshot has outbound connection " + conn + " outside the upstream id range");
                }
                s = new StreamSocket(conn, "", receiveBuffer, 0);
                s.outbound = true;
                s.epoch = d.readLong();
                s.connectErrno = d.readInt();
                s.target = d.readUTF();
                s.resolved = d.readUTF();
            } else {
                String listener = d.readUTF();
                if (!listeners.containsKey(listener)) {
                    throw new IOException("snapshot names listener '" + listener + "', which this app does not declare");
                }
                s = new StreamSocket(conn, listener, receiveBuffer, 0);
            }
            s.sendOffset = d.readLong();
            s.sendCredit = d.readLong();
            s.consumed = d.readLong();
            s.wholeSendDone = v5 ? d.readLong() : 0;
            int flags = d.readByte();
            s.peerClosed = (flags & 1) != 0;
            s.reset = (flags & 2) != 0;
            s.resetReported = (flags & 4) != 0;
            s.readShut = (flags & 8) != 0;
            s.writeShut = (flags & 16) != 0;
            s.accepted = (flags & 32) != 0;
            s.connectReported = (flags & 64) != 0;
            int len = d.readInt();
            checkCount(len, receiveBuffer, "buffered bytes of connection " + conn);
            byte[] b = new byte[len];
            d.readFully(b);
            s.received.write(b);
            connections.put(conn, s);
        }
        int nl = d.readInt();
        if (nl != listeners.size()) {
            throw new IOException("snapshot has " + nl + " listeners, the app declares " + listeners.size());
        }
        for (int i = 0; i < nl; i++) {
            String name = d.readUTF();
            ListenerSocket l = listeners.get(name);
            if (l == null) {
                throw new IOException("snapshot names listener '" + name + "', which this app does not declare");
            }
            l.backlog.clear();
            l.claimed = v5 && d.readBoolean();
            int pending = d.readInt();
            checkCount(pending, backlogLimit, "backlog of '" + name + "'");
            for (int j = 0; j < pending; j++) {
                StreamSocket s = connections.get(d.readLong());
                if (s == null) {
                    throw new IOException("snapshot backlog of '" + name + "' names an unknown connection");
                }
                l.backlog.addLast(s);
            }
        }
        refusedConnects = v5 ? d.readLong() : 0;
        outboundCounter = v5 ? d.readLong() : 0;
    }

    /** Finds the socket of an accepted connection after a restore. */
    public StreamSocket connection(long id) {
        return connections.get(id);
    }

    public ListenerSocket listener(String name) {
        return listeners.get(name);
    }

    static void checkCount(int n, int max, String what) throws IOException {
        if (n < 0 || n > max) {
            throw new IOException("snapshot field '" + what + "' is " + n + ", outside 0.." + max);
        }
    }

    /** Connections in id order that the guest has accepted (for status and fd restore). */
    public List<StreamSocket> accepted() {
        List<StreamSocket> out = new ArrayList<>();
        for (StreamSocket s : connections.values()) {
            if (s.accepted) {
                out.add(s);
            }
        }
        return out;
    }
}
