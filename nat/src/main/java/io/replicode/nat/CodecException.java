package io.replicode.nat;

/** Malformed binary input: says what was wrong and at which byte offset of the message or record. */
public final class CodecException extends RuntimeException {
    private final int offset;

    public CodecException(String what, int offset) {
        super(what + " (at byte " + offset + ")");
        this.offset = offset;
    }

    /** Byte offset, within the decoded buffer, of the item that failed. */
    public int offset() {
        return offset;
    }
}
