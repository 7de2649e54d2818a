package io.replicode.replica.wasi.net;

import java.util.ArrayDeque;

/** A preopened listening socket: connections opened by frame events wait here until the guest accepts them. */
public final class ListenerSocket {
    final String name;
    final ArrayDeque<StreamSocket> backlog = new ArrayDeque<>();

    ListenerSocket(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    public boolean readable() {
        return !backlog.isEmpty();
    }

    public int pending() {
        return backlog.size();
    }
}
