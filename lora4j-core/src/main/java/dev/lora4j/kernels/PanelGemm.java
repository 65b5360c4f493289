package dev.lora4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Products small enough to stay in L1, as attention's per-head products: C = A·B, with B packed once into column
 * panels of {@link Gemm#NR} floats (attention packs each head's keys and values once and uses them for every
 * part of its rows) and A read in place, along its rows or down its columns. Single-threaded: the caller
 * already runs one head or one sequence per task.
 *
 * <p>{@link Gemm} packs both operands for every call, so that its micro-kernel reads A with a constant row
 * stride; for a 64 × 32 × 64 head that packing, and the call overhead of its blocking, cost more than the
 * product itself. Here a packing of B is {@code depth} rows of whole panels: panel p holds columns
 * [p·NR, p·NR + NR) as depth steps of NR values, columns past the matrix's own being zero. A product may use
 * the first k rows from any row k0, and the first n columns.
 */
final class PanelGemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    static final int NR = Gemm.NR;
    static final int MR = Gemm.MR;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private PanelGemm() {
    }

    // A tile written aside when C has fewer than NR columns or MR rows left, and the rows of an A with fewer
    // than MR rows, padded with zero rows, so that the kernel always works on whole tiles.
    private static final class Scratch {
        final float[] tile = new float[MR * NR];
        float[] rows = new float[0];

        float[] rows(int n) {
            if (rows.length < n) {
                rows = new float[n];
            }
            return rows;
        }
    }

    /** Floats in a packing of {@code depth} rows and {@code cols} columns. */
    static int size(int depth, int cols) {
        return ceilDiv(cols, NR) * NR * depth;
    }

    /**
     * Puts row k of B, the {@code cols} values src[s…] times scale, into a packing at base that is depth rows
     * deep; the columns after cols in the last panel are zeroed.
     */
    static void putRow(float[] src, int s, int cols, float scale, float[] dst, int base, int depth, int k) {
        int p = 0;
        for (; p + NR <= cols; p += NR) {
            int d = base + p * depth + k * NR;
            FloatVector.fromArray(S, src, s + p).mul(scale).intoArray(dst, d);
            FloatVector.fromArray(S, src, s + p + L).mul(scale).intoArray(dst, d + L);
        }
        if (p < cols) {
            int d = base + p * depth + k * NR;
            for (int j = 0; j < NR; j++) {
                dst[d + j] = p + j < cols ? src[s + p + j] * scale : 0f;
            }
        }
    }

    /**
     * Puts column j of B, the {@code rows} values src[s…] times scale, into a packing at base that is depth rows
     * deep (rows ≤ depth). Columns past the matrix's own in the last panel must be cleared with
     * {@link #clearColumns}.
     */
    static void putColumn(float[] src, int s, int rows, float scale, float[] dst, int base, int depth, int j) {
        int d = base + j / NR * NR * depth + j % NR;
        for (int k = 0; k < rows; k++) {
            dst[d + k * NR] = src[s + k] * scale;
        }
    }

    /** Zeroes the columns from cols to the end of the last panel, in all depth rows of a packing at base. */
    static void clearColumns(float[] dst, int base, int depth, int cols) {
        if (cols % NR == 0) {
            return;
        }
        int panel = base + cols / NR * NR * depth;
        for (int k = 0; k < depth; k++) {
            java.util.Arrays.fill(dst, panel + k * NR + cols % NR, panel + k * NR + NR, 0f);
        }
    }

    /**
     * C (m × n, rows ldc apart, overwritten) = A·B, over k steps. A(i, κ) is a[aOff + i·ars + κ·aks]: a
     * row-major matrix read along its rows (aks = 1) or a transposed one read down its columns (ars = 1). B is
     * a packing of depth rows from b[bOff]; bOff may point at a later row k0 (bOff = base + k0·NR).
     */
    static void multiply(int m, int n, int k, float[] a, int aOff, int ars, int aks, float[] b, int bOff, int depth,
                         float[] c, int cOff, int ldc) {
        if (m == 0 || n == 0) {
            return;
        }
        Scratch scratch = SCRATCH.get();
        if (m < MR) {
            // Too few rows for a tile: a copy of them with zero rows after.
            float[] rows = scratch.rows(MR * k);
            java.util.Arrays.fill(rows, 0, MR * k, 0f);
            for (int i = 0; i < m; i++) {
                for (int s = 0; s < k; s++) {
                    rows[i * k + s] = a[aOff + i * ars + s * aks];
                }
            }
            a = rows;
            aOff = 0;
            ars = k;
            aks = 1;
        }
        int mTiles = Math.max(m, MR);
        float[] tile = scratch.tile;
        for (int j = 0; j < n; j += NR) {
            int nr = Math.min(NR, n - j);
            int panel = bOff + j * depth;
            for (int i = 0; i < mTiles; i += MR) {
                // The last tile ends at the last row, overlapping rows already written: C is overwritten, and
                // the same rows of A give the same values again.
                int first = Math.min(i, mTiles - MR);
                int aFirst = aOff + first * ars;
                boolean direct = nr == NR && m >= MR;
                float[] to = direct ? c : tile;
                int toOff = direct ? cOff + first * ldc + j : 0, toLd = direct ? ldc : NR;
                kernel(a, aFirst, ars, aks, b, panel, k, to, toOff, toLd);
                if (!direct) {
                    for (int r = 0; r < Math.min(MR, m - first); r++) {
                        System.arraycopy(tile, r * NR, c, cOff + (first + r) * ldc + j, nr);
                    }
                }
            }
        }
    }

    /**
     * One MR × NR tile of C = A·B over k steps, written to c (rows ldc apart). Twelve accumulators, as Gemm's
     * micro-kernel; a step at a time, which C2 unrolls. A's index is written apart for aks = 1, a condition the
     * loop does not change, so C2 compiles the loop twice: the row form with A's checks moved out of the loop
     * (as fast as a kernel of its own, 0.98–1.03× in-process, both forms), the column form with them in it.
     */
    private static void kernel(float[] a, int aOff, int ars, int aks, float[] b, int bOff, int k,
                               float[] c, int cOff, int ldc) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, b0, b1, x;
        for (int s = 0; s < k; s++) {
            int bi = bOff + s * NR, ai = aks == 1 ? aOff + s : aOff + s * aks;
            b0 = FloatVector.fromArray(S, b, bi);
            b1 = FloatVector.fromArray(S, b, bi + L);
            x = FloatVector.broadcast(S, a[ai]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(S, a[ai + ars]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(S, a[ai + 2 * ars]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(S, a[ai + 3 * ars]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(S, a[ai + 4 * ars]);
            c40 = b0.fma(x, c40); c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(S, a[ai + 5 * ars]);
            c50 = b0.fma(x, c50); c51 = b1.fma(x, c51);
        }
        c00.intoArray(c, cOff);
        c01.intoArray(c, cOff + L);
        c10.intoArray(c, cOff + ldc);
        c11.intoArray(c, cOff + ldc + L);
        c20.intoArray(c, cOff + 2 * ldc);
        c21.intoArray(c, cOff + 2 * ldc + L);
        c30.intoArray(c, cOff + 3 * ldc);
        c31.intoArray(c, cOff + 3 * ldc + L);
        c40.intoArray(c, cOff + 4 * ldc);
        c41.intoArray(c, cOff + 4 * ldc + L);
        c50.intoArray(c, cOff + 5 * ldc);
        c51.intoArray(c, cOff + 5 * ldc + L);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
