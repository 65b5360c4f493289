package dev.lora4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp and lane sums over float vectors, built only from operations whose result IEEE 754 fixes to the bit
 * (add, multiply, fused multiply-add, compare and blend, integer add and shift), so that they give the same bits
 * whether the JIT has compiled a kernel or it still runs the Vector API's Java fallback.
 *
 * <p>The Vector API's own {@code EXP} (and {@code TANH}) is Intel's short-vector math library when compiled and
 * {@link StrictMath} when not, which differ in the last bit on 4% (exp) and 0.2% (tanh) of inputs, and a
 * compiled {@code reduceLanes(ADD)} adds the lanes in another order than the fallback. Which of the two runs
 * depends on how far the JIT has got, not on the data, so with them two runs of the same seeded training
 * drifted apart in the last digits, and a run resumed from a checkpoint did not retrace the uninterrupted one.
 */
public final class ReproducibleMath {
    private static final VectorSpecies<Float> S = VectorOps.S;
    private static final float LOG2E = 1.44269504088896341f;
    // ln 2 in two parts, the first with few enough bits that n·LN2_HI is exact for every |n| < 2^9 used here.
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    // 1.5·2^23: adding it rounds a float of magnitude below 2^22 to an integer, which then sits in the low bits.
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    // e^r on |r| ≤ ln2/2 as 1 + r + r²·P(r), P a degree-5 minimax fit (Cephes' expf): relative error near 1e-7.
    private static final float[] P = {5.0000001201e-1f, 1.6666665459e-1f, 4.1665795894e-2f, 8.3334519073e-3f,
        1.3981999507e-3f, 1.9875691500e-4f};
    // Beyond these e^x is infinite (or rounds to zero), and the scaling below stays within float exponents.
    private static final float EXP_MAX = 89f;
    private static final float EXP_MIN = -104f;

    private ReproducibleMath() {
    }

    /**
     * e^x lane by lane, within 2 ulp of the true value for results at or above {@link Float#MIN_NORMAL}, and
     * rounding smoothly to zero below it; +∞ for x ≥ 88.73, NaN for NaN.
     */
    public static FloatVector exp(FloatVector x) {
        // Clamped by compare and blend: Java's max and min also order -0 before +0 and pass NaN on, which costs
        // AVX2 several instructions each (exp alone 1.28× faster this way; the same bits)
        FloatVector xc = x.blend(EXP_MIN, x.compare(VectorOperators.LT, EXP_MIN));
        xc = xc.blend(EXP_MAX, xc.compare(VectorOperators.GT, EXP_MAX));
        FloatVector shifted = xc.fma(LOG2E, ROUNDER);          // ROUNDER + round(x·log2 e)
        FloatVector n = shifted.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(S, P[5]);
        for (int i = 4; i >= 0; i--) {
            p = p.fma(r, FloatVector.broadcast(S, P[i]));
        }
        p = p.mul(r.mul(r)).add(r).add(1f);
        // 2^n as two factors 2^⌊n/2⌋ and 2^(n−⌊n/2⌋): each stays a normal float for n in [−150, 128], and
        // multiplying by them is exact, or correctly rounded where the result is subnormal or overflows.
        IntVector ni = shifted.reinterpretAsInts().sub(ROUNDER_BITS);
        IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
        FloatVector s1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(s1).mul(s2);
    }

    /**
     * x[off, off + L) = e^(x − shift), in place, L being the vector length: exp for a caller that C2 may inline
     * into a larger method (as attention's task inlines the softmax). C2 stops inlining once a compilation is
     * large enough, and an {@link #exp} it then calls out of line takes and returns its vectors boxed on the
     * heap, at every call; here no vector crosses the call, so leaving it out of line costs only the call.
     */
    public static void expShiftedInPlace(float[] x, int off, float shift) {
        exp(FloatVector.fromArray(S, x, off).sub(shift)).intoArray(x, off);
    }

    /** The sum of v's lanes, added first to last: one order whether compiled or not. */
    public static float sumLanes(FloatVector v) {
        float s = v.lane(0);
        for (int i = 1; i < S.length(); i++) {
            s += v.lane(i);
        }
        return s;
    }
}
