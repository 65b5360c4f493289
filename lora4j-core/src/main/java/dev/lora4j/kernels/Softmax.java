package dev.lora4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Row-wise softmax and its backward pass. */
public final class Softmax {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private Softmax() {
    }

    /**
     * Softmax of {@code n} values in place, starting at {@code off}. Entries equal to -∞ (masked) get
     * probability 0; a row that is entirely -∞ becomes all zeros rather than NaN.
     */
    public static void softmaxInPlace(float[] x, int off, int n) {
        int bound = S.loopBound(n);
        int i = 0;
        FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (; i < bound; i += S.length()) {
            vmax = vmax.max(FloatVector.fromArray(S, x, off + i));
        }
        float max = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        if (max == Float.NEGATIVE_INFINITY) {
            java.util.Arrays.fill(x, off, off + n, 0f);
            return;
        }
        FloatVector vsum = FloatVector.zero(S);
        for (i = 0; i < bound; i += S.length()) {
            ReproducibleMath.expShiftedInPlace(x, off + i, max);
            vsum = vsum.add(FloatVector.fromArray(S, x, off + i));
        }
        double sum = ReproducibleMath.sumLanes(vsum);
        for (; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        VectorOps.scale(x, off, (float) (1.0 / sum), n);
    }

    /** Softmax over each of the N rows of C values, in place. */
    public static void forward(float[] x, int N, int C) {
        Parallel.forEach(N, n -> softmaxInPlace(x, n * C, C));
    }

    /**
     * Gradient of softmax for one row: dx[i] = p[i]·(dp[i] − Σ_j p[j]·dp[j]), written into dx (which may be dp).
     */
    public static void backwardRow(float[] dx, int dxOff, float[] p, int pOff, float[] dp, int dpOff, int n) {
        float dot = VectorOps.dot(p, pOff, dp, dpOff, n);
        FloatVector vdot = FloatVector.broadcast(S, dot);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, dp, dpOff + i).sub(vdot).mul(FloatVector.fromArray(S, p, pOff + i)).intoArray(dx, dxOff + i);
        }
        for (; i < n; i++) {
            dx[dxOff + i] = p[pOff + i] * (dp[dpOff + i] - dot);
        }
    }

    /** Softmax backward over N rows of C values; see {@link #backwardRow}. */
    public static void backward(float[] dx, float[] p, float[] dp, int N, int C) {
        Parallel.forEach(N, n -> backwardRow(dx, n * C, p, n * C, dp, n * C, C));
    }
}
