package io.replicode.replica.wasi;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The guest's {@code random_get}: a hash DRBG (SHA-256 in counter mode) keyed by the app's genesis seed
 * and re-keyed with every frame's entropy, so replicas draw identical bytes and a frame's randomness
 * cannot be predicted before the sequencer stamps it.
 */
public final class GuestRandom {
    private static final byte[] DOMAIN = "replicode random v1".getBytes(StandardCharsets.US_ASCII);
    private final MessageDigest sha;
    private byte[] key;
    private long counter;

    public GuestRandom(byte[] genesisSeed) {
        sha = sha256();
        sha.update(DOMAIN);
        sha.update(genesisSeed);
        key = sha.digest();
    }

    /** Mixes a frame's entropy into the key; called once per frame before the guest runs. */
    public void reseed(long seq, byte[] entropy) {
        sha.update(key);
        sha.update(longBytes(seq));
        sha.update(entropy);
        key = sha.digest();
        counter = 0;
    }

    /** Fills {@code out} with the next bytes of the stream. */
    public void fill(byte[] out) {
        int pos = 0;
        while (pos < out.length) {
            sha.update(key);
            sha.update(longBytes(counter++));
            byte[] block = sha.digest();
            int n = Math.min(block.length, out.length - pos);
            System.arraycopy(block, 0, out, pos, n);
            pos += n;
        }
    }

    public void writeTo(DataOutputStream d) throws IOException {
        d.write(key);
        d.writeLong(counter);
    }

    public void readFrom(DataInputStream d) throws IOException {
        byte[] k = new byte[32];
        d.readFully(k);
        key = k;
        counter = d.readLong();
    }

    private static byte[] longBytes(long v) {
        byte[] b = new byte[8];
        for (int i = 7; i >= 0; i--) {
            b[i] = (byte) v;
            v >>>= 8;
        }
        return b;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
