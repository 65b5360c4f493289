package dev.lora4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Element-wise and reduction helpers over float arrays, vectorized with the Vector API. */
public final class VectorOps {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private VectorOps() {
    }

    /** y[yOff+i] += a·x[xOff+i] for i in [0, n). */
    public static void axpy(float[] y, int yOff, float[] x, int xOff, float a, int n) {
        int i = 0;
        FloatVector va = FloatVector.broadcast(S, a);
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xOff + i).fma(va, FloatVector.fromArray(S, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
    }

    /** out[outOff+i] = x[xOff+i] + y[yOff+i] for i in [0, n); out may be x or y at the same offset. */
    public static void add(float[] out, int outOff, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xOff + i).add(FloatVector.fromArray(S, y, yOff + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[xOff + i] + y[yOff + i];
        }
    }

    /** x[off+i] *= a for i in [0, n). */
    public static void scale(float[] x, int off, float a, int n) {
        scaleInto(x, off, x, off, a, n);
    }

    /** out[outOff+i] = a·x[xOff+i] for i in [0, n); out may be x at the same offset. */
    public static void scaleInto(float[] out, int outOff, float[] x, int xOff, float a, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xOff + i).mul(a).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = a * x[xOff + i];
        }
    }

    /** out[outOff+i] = x[xOff+i]·y[yOff+i] for i in [0, n). */
    public static void multiply(float[] out, int outOff, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            FloatVector.fromArray(S, x, xOff + i).mul(FloatVector.fromArray(S, y, yOff + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[xOff + i] * y[yOff + i];
        }
    }

    /** As {@link #multiply}, over the {@link Parallel} pool: for whole activations (a dropout mask, a derivative). */
    public static void multiplyParallel(float[] out, int outOff, float[] x, int xOff, float[] y, int yOff, int n) {
        Parallel.forRanges(n, (from, to) -> multiply(out, outOff + from, x, xOff + from, y, yOff + from, to - from));
    }

    /** Σ x[xOff+i]·y[yOff+i] for i in [0, n). */
    public static float dot(float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        FloatVector acc = FloatVector.zero(S);
        for (int bound = S.loopBound(n); i < bound; i += S.length()) {
            acc = FloatVector.fromArray(S, x, xOff + i).fma(FloatVector.fromArray(S, y, yOff + i), acc);
        }
        float s = ReproducibleMath.sumLanes(acc);
        for (; i < n; i++) {
            s += x[xOff + i] * y[yOff + i];
        }
        return s;
    }

    /** Σ x[off+i]² in double, for norms that must not lose precision over millions of elements. */
    public static double sumOfSquares(float[] x, int off, int n) {
        double total = 0;
        int i = 0;
        final int chunk = 4096;
        while (i < n) {
            int len = Math.min(chunk, n - i);
            total += dot(x, off + i, x, off + i, len);
            i += len;
        }
        return total;
    }
}
