package io.replicode.replica.wasi;

import io.replicode.nat.Output;
import io.replicode.replica.GuestLimits;
import io.replicode.replica.wasi.net.StreamSocket;

/**
 * {@code poll_oneoff}: clock and descriptor subscriptions, answered from frame time and the virtual network's
 * state. When nothing is ready the guest parks until the next frame; a clock subscription asks the sequencer for a
 * timer frame at its deadline ({@link Output.TimerRequest}), once per deadline.
 */
final class WasiPoll {
    private static final int SUBSCRIPTION_BYTES = 48;
    private static final int EVENT_BYTES = 32;
    private static final int EVENTTYPE_CLOCK = 0;
    private static final int EVENTTYPE_FD_READ = 1;
    private static final int EVENTTYPE_FD_WRITE = 2;
    private static final int SUBCLOCKFLAGS_ABSTIME = 1;
    private static final int EVENTRWFLAGS_HANGUP = 1;

    private final WasiHost host;

    WasiPoll(WasiHost host) {
        this.host = host;
    }

    int oneoff(long in, long outPtr, long nsubs, long neventsPtr) {
        if (nsubs <= 0 || nsubs > GuestLimits.MAX_POLL_SUBSCRIPTIONS) {
            return Errno.INVAL;
        }
        host.memory.read(in, nsubs * SUBSCRIPTION_BYTES);
        host.memory.read(outPtr, nsubs * EVENT_BYTES);
        return host.blocking(false, () -> once(in, outPtr, (int) nsubs, neventsPtr));
    }

    /** What one subscription gives: ready or not, and the event's fields. One per host, reset per subscription. */
    private static final class Event {
        boolean ready;
        int error;
        long nbytes;
        int flags;
        /** For a clock that is not due: when it will be, in frame time. */
        long deadline;

        Event reset() {
            ready = false;
            error = 0;
            nbytes = 0;
            flags = 0;
            deadline = Long.MAX_VALUE;
            return this;
        }
    }

    /** Reused: poll runs on every retry of a waiting guest, on the guest thread only. */
    private final Event event = new Event();

    private int once(long in, long outPtr, int nsubs, long neventsPtr) {
        GuestMemory memory = host.memory;
        int events = 0;
        long earliestDeadline = Long.MAX_VALUE;
        long waitStart = host.blockedSinceNs >= 0 ? host.blockedSinceNs : host.frameTimeNs;
        for (int i = 0; i < nsubs; i++) {
            long sub = in + (long) SUBSCRIPTION_BYTES * i;
            int tag = memory.u8(sub + 8);
            Event e = event.reset();
            if (tag == EVENTTYPE_CLOCK) {
                clock(sub, waitStart, e);
            } else if (tag == EVENTTYPE_FD_READ || tag == EVENTTYPE_FD_WRITE) {
                descriptor(memory.u32(sub + 16), tag == EVENTTYPE_FD_READ, e);
            } else {
                e.error = Errno.INVAL;
                e.ready = true;
            }
            if (!e.ready) {
                earliestDeadline = Math.min(earliestDeadline, e.deadline);
                continue;
            }
            long ev = outPtr + (long) EVENT_BYTES * events;
            memory.u64(ev, memory.u64(sub));
            memory.u16(ev + 8, e.error);
            memory.u8(ev + 10, tag <= 2 ? tag : 0);
            memory.u64(ev + 16, e.nbytes);
            memory.u16(ev + 24, e.flags);
            events++;
        }
        if (events == 0) {
            if (earliestDeadline != Long.MAX_VALUE && earliestDeadline != host.requestedTimerNs) {
                host.requestedTimerNs = earliestDeadline;
                host.out.add(new Output.TimerRequest(earliestDeadline));
            }
            throw WasiException.WOULD_BLOCK;
        }
        memory.u32(neventsPtr, events);
        return Errno.SUCCESS;
    }

    private void clock(long sub, long waitStart, Event e) {
        GuestMemory memory = host.memory;
        int clockId = memory.u32(sub + 16);
        long timeout = memory.u64(sub + 24);
        int subFlags = memory.u16(sub + 40);
        boolean wallOrMonotonic = clockId == WasiHost.CLOCK_REALTIME || clockId == WasiHost.CLOCK_MONOTONIC;
        try {
            long now = host.clockNow(clockId);
            long deadline;
            if ((subFlags & SUBCLOCKFLAGS_ABSTIME) != 0) {
                long offset = clockId == WasiHost.CLOCK_MONOTONIC ? host.config.genesisTimeNs() : 0;
                deadline = wallOrMonotonic ? timeout + offset : Long.MAX_VALUE;
            } else {
                // Relative timeouts count from when the call started waiting, not from each retry.
                deadline = wallOrMonotonic ? saturatingAdd(waitStart, timeout) : Long.MAX_VALUE;
            }
            e.ready = deadline <= host.frameTimeNs || (clockId >= WasiHost.CLOCK_PROCESS_CPUTIME && now >= timeout);
            e.deadline = deadline;
        } catch (WasiException x) {
            e.error = x.errno();
            e.ready = true;
        }
    }

    private void descriptor(int fd, boolean read, Event e) {
        Descriptor d = host.fds.find(fd);
        if (d == null) {
            e.error = Errno.BADF;
            e.ready = true;
        } else if (d instanceof Descriptor.Listener l) {
            e.ready = read && l.socket.readable();
            e.nbytes = l.socket.pending();
            e.flags = read && l.socket.hungUp() ? EVENTRWFLAGS_HANGUP : 0;
        } else if (d instanceof Descriptor.Socket s) {
            StreamSocket ss = s.socket;
            if (read) {
                e.ready = ss.readable();
                e.nbytes = ss.available();
                e.flags = ss.hangup() ? EVENTRWFLAGS_HANGUP : 0;
            } else if (ss.isReset() || ss.isWriteShut()) {
                e.ready = true;
                e.error = Errno.PIPE;
            } else {
                e.ready = ss.writable();
                e.nbytes = ss.sendCredit();
            }
        } else if (d instanceof Descriptor.Opened) {
            // A socket that neither listens nor connects: ready with a hang-up, as Linux reports it.
            e.ready = true;
            e.flags = EVENTRWFLAGS_HANGUP;
        } else if (d instanceof Descriptor.Stdio stdio) {
            // stdin is readable (at its end), stdout and stderr writable; the other direction is an error.
            e.ready = true;
            e.error = read == (stdio.which == 0) ? 0 : Errno.BADF;
        } else {
            // Regular files and directories are always ready, as on Linux.
            e.ready = true;
            e.nbytes = read ? host.files.readableBytes(d) : 0;
        }
    }

    static long saturatingAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 || b < 0 ? Long.MAX_VALUE : r;
    }
}
