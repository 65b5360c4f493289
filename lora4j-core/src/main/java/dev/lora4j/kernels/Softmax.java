package dev.lora4j.kernels;

/** Row-wise softmax and its backward pass. */
public final class Softmax {
    private Softmax() {
    }

    /**
     * Softmax of {@code n} values in place, starting at {@code off}. Entries equal to -∞ (masked) get
     * probability 0; a row that is entirely -∞ becomes all zeros rather than NaN.
     */
    public static void softmaxInPlace(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        if (max == Float.NEGATIVE_INFINITY) {
            java.util.Arrays.fill(x, off, off + n, 0f);
            return;
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        VectorOps.scale(x, off, inv, n);
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
        for (int i = 0; i < n; i++) {
            dx[dxOff + i] = p[pOff + i] * (dp[dpOff + i] - dot);
        }
    }

    /** Softmax backward over N rows of C values; see {@link #backwardRow}. */
    public static void backward(float[] dx, float[] p, float[] dp, int N, int C) {
        Parallel.forEach(N, n -> backwardRow(dx, n * C, p, n * C, dp, n * C, C));
    }
}
