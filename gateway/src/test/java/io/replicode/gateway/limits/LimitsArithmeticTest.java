package io.replicode.gateway.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The pure parts of the gateway's limits, driven with a hand-made clock. */
class LimitsArithmeticTest {
    @Test
    void files_budget_is_low_near_the_limit_and_recovers_when_descriptors_close() {
        AtomicLong open = new AtomicLong(100);
        FilesBudget budget = new FilesBudget(1_000, open::get);
        assertFalse(budget.low(1_000));
        for (int i = 0; i < 772; i++) {
            budget.accepted();
        }
        assertTrue(budget.low(1_050), "100 open + 772 accepted since the sample + 128 reserve reach 1,000");
        open.set(150);
        assertFalse(budget.low(1_200), "a fresh sample sees the accepted ones closed again");
        for (int i = 0; i < 100_000; i++) {
            budget.accepted();
            budget.low(2_000 + i);
        }
        assertFalse(budget.low(200_000), "many accepts over time never pile up without a new sample");
    }

    @Test
    void unknown_limit_is_never_low() {
        assertFalse(new FilesBudget(Long.MAX_VALUE, () -> 1L << 40).low(0));
    }

    @Test
    void a_trickled_body_runs_out_and_a_steady_one_does_not() {
        BodyDeadline trickle = new BodyDeadline(20_000, 500, 0);
        for (int s = 5; s < 20; s += 5) {
            trickle.received(1);
        }
        assertFalse(trickle.expired(19_999));
        assertTrue(trickle.expired(20_010));

        BodyDeadline steady = new BodyDeadline(20_000, 500, 0);
        steady.received(600 * 60);
        assertFalse(steady.expired(60_000), "600 B/s for a minute earned 72 s beyond the 20 s");
    }

    @Test
    void time_the_gateway_paused_reading_is_not_the_clients() {
        BodyDeadline d = new BodyDeadline(1_000, 500, 0);
        d.paused(true, 500);
        assertFalse(d.expired(10_000), "never expires while paused");
        d.paused(false, 10_000);
        assertFalse(d.expired(10_400));
        assertTrue(d.expired(10_500));
    }

    @Test
    void token_bucket_allows_a_burst_then_the_rate_per_address() {
        TokenBuckets b = new TokenBuckets(2, 3, 10);
        assertEquals(0, b.take("a", 0));
        assertEquals(0, b.take("a", 0));
        assertEquals(0, b.take("a", 0));
        assertEquals(500, b.take("a", 0), "the next token in half a second");
        assertEquals(0, b.take("b", 0), "another address has its own bucket");
        assertEquals(0, b.take("a", 500));
    }

    @Test
    void token_buckets_remember_a_bounded_number_of_addresses() {
        TokenBuckets b = new TokenBuckets(1, 1, 2);
        assertEquals(0, b.take("a", 0));
        assertEquals(0, b.take("b", 0));
        assertEquals(0, b.take("c", 0));
        assertEquals(0, b.take("a", 0), "the oldest address was forgotten, so it starts with a full bucket");
    }
}
