/* float_probe - prints the bit patterns of floating-point results whose NaN
 * bits the CPU may choose, one line each, "<name> <hex bits>" (8 hex digits
 * for f32, 16 for f64), then exits 0. No socket is used.
 *
 * Every operand is read from a volatile variable, so nothing is folded at
 * compile time: each result comes from the runtime's own f32/f64 instruction
 * (or from libm for fmin/fmax).
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile float f_zero = 0.0f, f_one = 1.0f, f_neg_one = -1.0f;
static volatile float f_two = 2.0f, f_three = 3.0f, f_inf = INFINITY;
static volatile double d_zero = 0.0, d_one = 1.0, d_neg_one = -1.0;
static volatile double d_two = 2.0, d_three = 3.0, d_inf = INFINITY;
static volatile uint32_t f_payload_bits = 0x7fa00001u;
static volatile uint64_t d_payload_bits = 0x7ff4000000000001ull;
static volatile float f_tmp;
static volatile double d_tmp;

static float f_payload(void) {
    uint32_t bits = f_payload_bits;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static double d_payload(void) {
    uint64_t bits = d_payload_bits;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

__attribute__((noinline)) static void pf(const char *name, float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    printf("%s %08" PRIx32 "\n", name, bits);
}

__attribute__((noinline)) static void pd(const char *name, double d) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    printf("%s %016" PRIx64 "\n", name, bits);
}

static void nan_producers(void) {
    pf("f32.div_0_0", f_zero / f_zero);
    pd("f64.div_0_0", d_zero / d_zero);
    pf("f32.sqrt_neg1", sqrtf(f_neg_one));
    pd("f64.sqrt_neg1", sqrt(d_neg_one));
    pf("f32.inf_sub_inf", f_inf - f_inf);
    pd("f64.inf_sub_inf", d_inf - d_inf);
    pf("f32.inf_mul_0", f_inf * f_zero);
    pd("f64.inf_mul_0", d_inf * d_zero);
}

static void nan_propagation(void) {
    pf("f32.payload_copy", f_payload());
    pd("f64.payload_copy", d_payload());
    pf("f32.payload_add_1", f_payload() + f_one);
    pd("f64.payload_add_1", d_payload() + d_one);
    pf("f32.fminf_nan_1", fminf(f_zero / f_zero, f_one));
    pd("f64.fmin_nan_1", fmin(d_zero / d_zero, d_one));
    pf("f32.fmaxf_1_nan", fmaxf(f_one, f_zero / f_zero));
    pd("f64.fmax_1_nan", fmax(d_one, d_zero / d_zero));
    pd("f64.promote_payload", (double)f_payload());
    pf("f32.demote_payload", (float)d_payload());
    /* Negation only flips the sign bit of whatever NaN the division made:
     * allowed to differ between CPUs unless the runtime canonicalises. The
     * quotient goes through a volatile so that clang cannot rewrite
     * -(a / b) as (-a) / b: the f32.neg / f64.neg must really run. */
    f_tmp = f_zero / f_zero;
    pf("f32.neg_div_0_0", -f_tmp);
    d_tmp = d_zero / d_zero;
    pd("f64.neg_div_0_0", -d_tmp);
}

static void ordinary(void) {
    pf("f32.one_third", f_one / f_three);
    pd("f64.one_third", d_one / d_three);
    pf("f32.sqrt_2", sqrtf(f_two));
    pd("f64.sqrt_2", sqrt(d_two));
}

int main(void) {
    nan_producers();
    nan_propagation();
    ordinary();
    return 0;
}
