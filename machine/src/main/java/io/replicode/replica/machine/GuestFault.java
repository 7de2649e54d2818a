package io.replicode.replica.machine;

/** A guest broke a rule of the host (not a wasm trap); it stops the app with this message. */
final class GuestFault extends RuntimeException {
    GuestFault(String message) {
        super(message, null, false, false);
    }
}
