package io.replicode.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.replicode.replay.Frame;
import io.replicode.replay.FrameCodec;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RingFoldTest {

    @Test
    void single_writer_frames_are_accepted_at_position_seq_minus_one() {
        FrameMaker maker = new FrameMaker("kv", 1);
        RingFold fold = new RingFold("kv", RingCursor.GENESIS);
        for (long pos = 0; pos < 10; pos++) {
            Frame f = maker.next("w" + pos);
            assertEquals(f, fold.offer(pos, FrameCodec.encode(f)));
        }
        RingCursor c = fold.cursor();
        assertEquals(10, c.nextRingSeq());
        assertEquals(10, c.lastFrameSeq());
        assertEquals(0, c.strays());
    }

    @Test
    void entries_that_do_not_continue_the_chain_are_strays() {
        FrameMaker a = new FrameMaker("kv", 1);
        Frame f1 = a.next("1");
        Frame f2 = a.next("2");
        FrameMaker b = new FrameMaker("kv", 1, 1, FrameMaker.hash(f1), f1.timeNs());
        Frame f2b = b.next("2 from another writer");
        Frame f3 = a.next("3");
        Frame otherApp = new FrameMaker("image", 1).next("x");

        List<byte[]> ring = new ArrayList<>();
        ring.add(FrameCodec.encode(f1));
        ring.add(FrameCodec.encode(f1));          // a retried add: same frame twice
        ring.add(new byte[] {1, 2, 3});           // not a frame
        ring.add(FrameCodec.encode(otherApp));    // seq 1 of another app
        ring.add(FrameCodec.encode(f2b));         // first valid frame 2 wins ...
        ring.add(FrameCodec.encode(f2));          // ... so this frame 2 is a stray
        ring.add(FrameCodec.encode(f3));          // and so is the frame built on it

        RingFold fold = new RingFold("kv", RingCursor.GENESIS);
        List<Frame> accepted = new ArrayList<>();
        for (int pos = 0; pos < ring.size(); pos++) {
            Frame f = fold.offer(pos, ring.get(pos));
            if (f != null) {
                accepted.add(f);
            }
        }
        assertEquals(List.of(f1, f2b), accepted);
        assertEquals(5, fold.strays());
        assertEquals(7, fold.cursor().nextRingSeq());
        assertEquals(2, fold.cursor().lastFrameSeq());
        assertEquals(5, fold.cursor().strays());
        assertArrayEquals(FrameMaker.hash(f2b), fold.cursor().lastFrameHash());
    }

    @Test
    void a_frame_of_an_older_epoch_is_a_stray_even_when_it_chains() {
        FrameMaker old = new FrameMaker("kv", 1);
        Frame f1 = old.next("1");
        FrameMaker successor = new FrameMaker("kv", 2, 1, FrameMaker.hash(f1), f1.timeNs());
        Frame f2new = successor.next("2 by epoch 2");
        Frame f3new = successor.next("3 by epoch 2");
        Frame f3old = new FrameMaker("kv", 1, 2, FrameMaker.hash(f2new), f2new.timeNs()).next("3 by epoch 1");

        RingFold fold = new RingFold("kv", RingCursor.GENESIS);
        assertEquals(f1, fold.offer(0, FrameCodec.encode(f1)));
        assertEquals(f2new, fold.offer(1, FrameCodec.encode(f2new)));
        assertNull(fold.offer(2, FrameCodec.encode(f3old)), "epoch 1 after epoch 2 is fenced off");
        assertEquals(f3new, fold.offer(3, FrameCodec.encode(f3new)));
        assertEquals(2, fold.cursor().lastEpoch());
    }

    @Test
    void two_folds_from_equal_cursors_give_equal_verdicts() {
        FrameMaker maker = new FrameMaker("kv", 1);
        List<byte[]> ring = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            byte[] e = FrameCodec.encode(maker.next("f" + i));
            ring.add(e);
            if (i == 2) {
                ring.add(e);
            }
        }
        RingFold first = new RingFold("kv", RingCursor.GENESIS);
        for (int pos = 0; pos < 3; pos++) {
            first.offer(pos, ring.get(pos));
        }
        RingFold second = new RingFold("kv", first.cursor());
        RingFold whole = new RingFold("kv", RingCursor.GENESIS);
        for (int pos = 0; pos < ring.size(); pos++) {
            Frame w = whole.offer(pos, ring.get(pos));
            if (pos >= 3) {
                assertEquals(w, second.offer(pos, ring.get(pos)));
            }
        }
        assertEquals(whole.cursor(), second.cursor());
        assertEquals(1, whole.cursor().strays());
    }

    @Test
    void offering_out_of_position_is_a_caller_bug() {
        RingFold fold = new RingFold("kv", RingCursor.GENESIS);
        assertThrows(IllegalArgumentException.class, () -> fold.offer(1, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> new RingCursor(3, 4, Frame.GENESIS_HASH, 1));
    }
}
