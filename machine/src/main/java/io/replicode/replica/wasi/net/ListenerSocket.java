package io.replicode.replica.wasi.net;

import java.util.ArrayDeque;

/** A preopened listening socket: connections opened by frame events wait here until the guest accepts them. */
public final class ListenerSocket {
    final String name;
    final ArrayDeque<StreamSocket> backlog = new ArrayDeque<>();
    /** The app is being upgraded: no new connections; accept fails and poll reports a hang-up. */
    boolean hungUp;
    /** A guest that opens its own sockets holds this listener ({@code sock_listen}): no other socket may claim it. */
    boolean claimed;

    ListenerSocket(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    /** A poll for reading returns at once: a connection waits, or the listener hung up. */
    public boolean readable() {
        return hungUp || !backlog.isEmpty();
    }

    public boolean hungUp() {
        return hungUp;
    }

    public boolean claimed() {
        return claimed;
    }

    public int pending() {
        return backlog.size();
    }
}
