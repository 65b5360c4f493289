package dev.lora4j.kernels;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * exp against StrictMath in double precision, and bit for bit against the same formula written with scalar IEEE
 * operations, which no JIT can change; lane sums against a plain loop.
 */
class ReproducibleMathTest {
    private static final int L = VectorOps.S.length();

    private static float[] apply(java.util.function.UnaryOperator<FloatVector> f, float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i + L <= x.length; i += L) {
            f.apply(FloatVector.fromArray(VectorOps.S, x, i)).intoArray(out, i);
        }
        return out;
    }

    private static float[] sweep(float from, float to, int n) {
        float[] x = new float[n / L * L];
        for (int i = 0; i < x.length; i++) {
            x[i] = from + (to - from) * i / (x.length - 1);
        }
        return x;
    }

    // The algorithm of ReproducibleMath.exp, one float at a time.
    private static float scalarExp(float x) {
        float xc = Math.min(Math.max(x, -104f), 89f);
        float shifted = Math.fma(xc, 1.44269504088896341f, 12582912f);
        float n = shifted - 12582912f;
        float r = Math.fma(n, -0.693359375f, xc);
        r = Math.fma(n, 2.12194440e-4f, r);
        float[] c = {5.0000001201e-1f, 1.6666665459e-1f, 4.1665795894e-2f, 8.3334519073e-3f, 1.3981999507e-3f, 1.9875691500e-4f};
        float p = c[5];
        for (int i = 4; i >= 0; i--) {
            p = Math.fma(p, r, c[i]);
        }
        p = p * (r * r) + r + 1f;
        int ni = Float.floatToRawIntBits(shifted) - Float.floatToRawIntBits(12582912f);
        int half = ni >> 1;
        return p * Float.intBitsToFloat((half + 127) << 23) * Float.intBitsToFloat((ni - half + 127) << 23);
    }

    @Test
    void expIsWithinTwoUlpOfTheTrueValueAndFlushesSmoothly() {
        float[] x = sweep(-104f, 88.72f, 400_000);
        float[] got = apply(ReproducibleMath::exp, x);
        for (int i = 0; i < x.length; i++) {
            float want = (float) StrictMath.exp(x[i]);
            assertTrue(Math.abs(got[i] - want) <= 2 * Math.ulp(want), "exp(" + x[i] + ") = " + got[i] + ", want " + want);
        }
    }

    @Test
    void expOfSpecialValues() {
        float[] x = new float[2 * L];
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 88.73f, 1000f, -1000f, 0f, -0f};
        for (int i = 0; i < x.length; i++) {
            x[i] = special[i % special.length];
        }
        float[] got = apply(ReproducibleMath::exp, x);
        for (int i = 0; i < x.length; i++) {
            float want = (float) StrictMath.exp(x[i]);
            assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(got[i]), "exp(" + x[i] + ")");
        }
    }

    @Test
    void expGivesTheBitsOfItsScalarFormula() {
        Random rng = new Random(7);
        float[] x = new float[1 << 16];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rng.nextGaussian() * 30);
        }
        float[] e = apply(ReproducibleMath::exp, x);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToIntBits(scalarExp(x[i])), Float.floatToIntBits(e[i]), "exp(" + x[i] + ")");
        }
    }

    @Test
    void sumLanesAddsFirstToLast() {
        Random rng = new Random(8);
        for (int trial = 0; trial < 1000; trial++) {
            float[] v = new float[L];
            for (int i = 0; i < L; i++) {
                v[i] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(8)));
            }
            float want = v[0];
            for (int i = 1; i < L; i++) {
                want += v[i];
            }
            assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(ReproducibleMath.sumLanes(FloatVector.fromArray(VectorOps.S, v, 0))));
        }
    }
}
