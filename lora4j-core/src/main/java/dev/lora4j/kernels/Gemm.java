package dev.lora4j.kernels;

import dev.lora4j.tensor.DType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision matrix multiply, C = α·op(A)·op(B) + β·C, in the BLAS convention: row-major operands with
 * leading dimensions, op(X) = X or Xᵀ. The three forms a layer needs are all this one call:
 * NN (dx = dout·W), NT (y = x·Wᵀ) and TN (dW = doutᵀ·x).
 *
 * <p>The structure is GotoBLAS's: B is packed into column panels of {@link #NR} floats (KC rows deep) that stay
 * in L1, A into row panels of {@link #MR}, and a register-blocked micro-kernel keeps a 6×(2 vectors) tile of
 * C in twelve accumulators, doing 2 loads and 6 broadcasts per 12 FMAs. Work is split over {@link Parallel}
 * by columns of C (or rows, when C is tall and narrow); each thread packs its own panels, so threads never wait
 * for each other. Either operand may be stored as bf16 or f16: packing widens it to float32, so a frozen
 * half-precision weight costs half the memory and no extra pass.
 */
public final class Gemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Rows of C per micro-kernel tile. */
    public static final int MR = 6;
    /** Columns of C per micro-kernel tile: two vectors. */
    public static final int NR = 2 * L;
    private static final long NR_BYTES = NR * 4L;
    private static final long L_BYTES = L * 4L;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final int KC = Integer.getInteger("lora4j.gemm.kc", 256);
    private static final int MC = Integer.getInteger("lora4j.gemm.mc", 96);
    private static final int NC = Integer.getInteger("lora4j.gemm.nc", 4608);
    /** Below this many multiply-adds a single thread is faster than handing work to the pool. */
    private static final long PARALLEL_THRESHOLD = 1L << 18;
    private static final int TASKS_PER_THREAD = Integer.getInteger("lora4j.gemm.tasksPerThread", 4);

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    private Gemm() {
    }

    /** A matrix operand: storage (float32 or 16-bit), offset, leading dimension and whether it is transposed. */
    public record Operand(float[] f32, short[] half, DType dtype, int offset, int ld, boolean trans) {
        /** Copies {@code count} consecutive stored elements from {@code src} to dst with stride dstStride. */
        void copyRun(int src, float[] dst, int dstOff, int dstStride, int count) {
            if (f32 != null) {
                if (dstStride == 1) {
                    System.arraycopy(f32, src, dst, dstOff, count);
                } else {
                    for (int i = 0; i < count; i++) {
                        dst[dstOff + i * dstStride] = f32[src + i];
                    }
                }
            } else if (dtype == DType.BF16) {
                for (int i = 0; i < count; i++) {
                    dst[dstOff + i * dstStride] = Float.intBitsToFloat((half[src + i] & 0xffff) << 16);
                }
            } else {
                for (int i = 0; i < count; i++) {
                    dst[dstOff + i * dstStride] = Float.float16ToFloat(half[src + i]);
                }
            }
        }

        int length() {
            return f32 != null ? f32.length : half.length;
        }

        float get(int row, int col) {
            int i = trans ? offset + col * ld + row : offset + row * ld + col;
            return f32 != null ? f32[i] : dtype.halfToFloat(half[i]);
        }
    }

    private static final class Buffers {
        float[] a = new float[0];
        float[] b = new float[0];
        /** The packed B block again, in native memory aligned to a cache line (see {@link #packB}). */
        MemorySegment bAligned = MemorySegment.NULL;
        final float[] tile = new float[MR * NR];

        MemorySegment bAligned(int n) {
            if (bAligned.byteSize() < n * 4L) {
                bAligned = Arena.ofAuto().allocate(n * 4L, 64);
            }
            return bAligned;
        }

        float[] a(int n) {
            if (a.length < n) {
                a = new float[n];
            }
            return a;
        }

        float[] b(int n) {
            if (b.length < n) {
                b = new float[n];
            }
            return b;
        }
    }

    /** An operand stored as float32. */
    public static Operand f32(float[] data, int offset, int ld, boolean trans) {
        return new Operand(data, null, DType.F32, offset, ld, trans);
    }

    /** An operand stored as raw bf16 or f16 bits. */
    public static Operand half(short[] data, DType dtype, int offset, int ld, boolean trans) {
        if (!dtype.isHalf()) {
            throw new IllegalArgumentException("Gemm.half: dtype " + dtype + " is not a 16-bit type");
        }
        return new Operand(null, data, dtype, offset, ld, trans);
    }

    /**
     * C = α·op(A)·op(B) + β·C for float32 operands.
     *
     * @param M rows of op(A) and C
     * @param N columns of op(B) and C
     * @param K columns of op(A), rows of op(B)
     * @param lda row stride of A as stored: (M, K) when not transposed, (K, M) when transposed
     * @throws IllegalArgumentException if a dimension is negative or an operand does not fit its array
     */
    public static void sgemm(boolean transA, boolean transB, int M, int N, int K, float alpha,
                             float[] A, int offA, int lda, float[] B, int offB, int ldb,
                             float beta, float[] C, int offC, int ldc) {
        gemm(M, N, K, alpha, f32(A, offA, lda, transA), f32(B, offB, ldb, transB), beta, C, offC, ldc);
    }

    /** C = α·op(A)·op(B) + β·C for operands in any storage type; see {@link #sgemm}. */
    public static void gemm(int M, int N, int K, float alpha, Operand a, Operand b,
                            float beta, float[] C, int offC, int ldc) {
        check(M, N, K, a, b, C, offC, ldc);
        if (M == 0 || N == 0) {
            return;
        }
        if (K == 0 || alpha == 0f) {
            scaleC(M, N, beta, C, offC, ldc);
            return;
        }
        long work = (long) M * N * K;
        int threads = work < PARALLEL_THRESHOLD ? 1 : Parallel.threads();
        boolean splitColumns = N >= M || M < MR * threads;
        int units = splitColumns ? ceilDiv(N, NR) : ceilDiv(M, MR);
        // A few tasks per thread, so that a thread slowed by the OS leaves its share to the others; each task
        // repacks its A (or B) block, which costs a small fraction of its multiply.
        int tasks = Math.max(1, Math.min(units, threads == 1 ? 1 : threads * TASKS_PER_THREAD));
        if (tasks == 1) {
            block(0, M, 0, N, K, alpha, a, b, beta, C, offC, ldc);
            return;
        }
        Parallel.forEach(tasks, t -> {
            int from = (int) ((long) units * t / tasks);
            int to = (int) ((long) units * (t + 1) / tasks);
            if (splitColumns) {
                block(0, M, from * NR, Math.min(N, to * NR), K, alpha, a, b, beta, C, offC, ldc);
            } else {
                block(from * MR, Math.min(M, to * MR), 0, N, K, alpha, a, b, beta, C, offC, ldc);
            }
        });
    }

    /** Computes rows [m0, m1) × columns [n0, n1) of C on the calling thread. */
    private static void block(int m0, int m1, int n0, int n1, int K, float alpha, Operand a, Operand b,
                              float beta, float[] C, int offC, int ldc) {
        // The micro-kernel always adds into C, so β is applied once up front.
        for (int m = m0; m < m1; m++) {
            int row = offC + m * ldc;
            if (beta == 0f) {
                java.util.Arrays.fill(C, row + n0, row + n1, 0f);
            } else if (beta != 1f) {
                VectorOps.scale(C, row + n0, beta, n1 - n0);
            }
        }
        Buffers buf = BUFFERS.get();
        for (int jc = n0; jc < n1; jc += NC) {
            int nc = Math.min(NC, n1 - jc);
            for (int pc = 0; pc < K; pc += KC) {
                int kc = Math.min(KC, K - pc);
                int bLen = ceilDiv(nc, NR) * NR * kc;
                float[] bp = buf.b(bLen);
                packB(bp, b, pc, kc, jc, nc);
                // Vector loads from a Java array sit wherever the GC put the array: one that straddles cache lines
                // costs up to a third of the kernel's speed, and which you get changes from run to run. The
                // micro-kernel therefore reads B from native memory aligned to 64 bytes.
                MemorySegment bs = buf.bAligned(bLen);
                MemorySegment.copy(bp, 0, bs, ValueLayout.JAVA_FLOAT, 0, bLen);
                for (int ic = m0; ic < m1; ic += MC) {
                    int mc = Math.min(MC, m1 - ic);
                    float[] ap = buf.a(ceilDiv(mc, MR) * MR * kc);
                    packA(ap, a, ic, mc, pc, kc);
                    if (alpha != 1f) {
                        VectorOps.scale(ap, 0, alpha, ceilDiv(mc, MR) * MR * kc);
                    }
                    macroKernel(ap, bs, mc, nc, kc, C, offC + ic * ldc + jc, ldc, buf.tile);
                }
            }
        }
    }

    private static void macroKernel(float[] ap, MemorySegment bp, int mc, int nc, int kc,
                                    float[] C, int offC, int ldc, float[] tile) {
        for (int jr = 0; jr < nc; jr += NR) {
            int cols = Math.min(NR, nc - jr);
            long bOff = (long) (jr / NR) * kc * NR * 4;
            for (int ir = 0; ir < mc; ir += MR) {
                int rows = Math.min(MR, mc - ir);
                int aOff = (ir / MR) * kc * MR;
                int cOff = offC + ir * ldc + jr;
                if (rows == MR && cols == NR) {
                    microKernel(ap, aOff, bp, bOff, kc, C, cOff, ldc);
                } else {
                    java.util.Arrays.fill(tile, 0f);
                    microKernel(ap, aOff, bp, bOff, kc, tile, 0, NR);
                    for (int i = 0; i < rows; i++) {
                        for (int j = 0; j < cols; j++) {
                            C[cOff + i * ldc + j] += tile[i * NR + j];
                        }
                    }
                }
            }
        }
    }

    /**
     * C tile (6 × NR) += Apanel·Bpanel (α is folded into the A panel); panels are kc deep. Offsets are computed
     * from k rather than carried as separate induction variables, which lets C2 hoist the segment's bounds checks
     * (measured: 43 → 50 GFLOP/s single-threaded on the same data). The accumulators start
     * from C rather than zero: the loads are issued first and their cache misses overlap the FMA loop, which is
     * the prefetch Java cannot otherwise express. Twelve accumulators, two loads of B and six
     * broadcasts of A per step, the shape that fits AVX2's sixteen registers. The k loop is unrolled twice:
     * once is loop-overhead bound, while more unrolling (or a store helper) grows the method past what C2
     * inlines, and a call that is not inlined boxes every vector.
     */
    private static void microKernel(float[] ap, int aOff, MemorySegment bp, long bOff, int kc,
                                    float[] C, int cOff, int ldc) {
        FloatVector c00 = FloatVector.fromArray(S, C, cOff), c01 = FloatVector.fromArray(S, C, cOff + L);
        FloatVector c10 = FloatVector.fromArray(S, C, cOff + ldc), c11 = FloatVector.fromArray(S, C, cOff + ldc + L);
        FloatVector c20 = FloatVector.fromArray(S, C, cOff + 2 * ldc), c21 = FloatVector.fromArray(S, C, cOff + 2 * ldc + L);
        FloatVector c30 = FloatVector.fromArray(S, C, cOff + 3 * ldc), c31 = FloatVector.fromArray(S, C, cOff + 3 * ldc + L);
        FloatVector c40 = FloatVector.fromArray(S, C, cOff + 4 * ldc), c41 = FloatVector.fromArray(S, C, cOff + 4 * ldc + L);
        FloatVector c50 = FloatVector.fromArray(S, C, cOff + 5 * ldc), c51 = FloatVector.fromArray(S, C, cOff + 5 * ldc + L);
        FloatVector b0, b1, x;
        int k = 0;
        for (; k + 2 <= kc; k += 2) {
            long b = bOff + k * NR_BYTES;
            int a = aOff + k * MR;
            b0 = FloatVector.fromMemorySegment(S, bp, b, ORDER);
            b1 = FloatVector.fromMemorySegment(S, bp, b + L_BYTES, ORDER);
            x = FloatVector.broadcast(S, ap[a]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(S, ap[a + 1]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(S, ap[a + 2]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(S, ap[a + 3]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(S, ap[a + 4]);
            c40 = b0.fma(x, c40); c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(S, ap[a + 5]);
            c50 = b0.fma(x, c50); c51 = b1.fma(x, c51);
            b0 = FloatVector.fromMemorySegment(S, bp, b + NR_BYTES, ORDER);
            b1 = FloatVector.fromMemorySegment(S, bp, b + NR_BYTES + L_BYTES, ORDER);
            x = FloatVector.broadcast(S, ap[a + MR]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(S, ap[a + MR + 1]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(S, ap[a + MR + 2]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(S, ap[a + MR + 3]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(S, ap[a + MR + 4]);
            c40 = b0.fma(x, c40); c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(S, ap[a + MR + 5]);
            c50 = b0.fma(x, c50); c51 = b1.fma(x, c51);
        }
        if (k < kc) {
            long b = bOff + k * NR_BYTES;
            int a = aOff + k * MR;
            b0 = FloatVector.fromMemorySegment(S, bp, b, ORDER);
            b1 = FloatVector.fromMemorySegment(S, bp, b + L_BYTES, ORDER);
            x = FloatVector.broadcast(S, ap[a]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(S, ap[a + 1]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(S, ap[a + 2]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(S, ap[a + 3]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(S, ap[a + 4]);
            c40 = b0.fma(x, c40); c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(S, ap[a + 5]);
            c50 = b0.fma(x, c50); c51 = b1.fma(x, c51);
        }
        c00.intoArray(C, cOff);
        c01.intoArray(C, cOff + L);
        c10.intoArray(C, cOff + ldc);
        c11.intoArray(C, cOff + ldc + L);
        c20.intoArray(C, cOff + 2 * ldc);
        c21.intoArray(C, cOff + 2 * ldc + L);
        c30.intoArray(C, cOff + 3 * ldc);
        c31.intoArray(C, cOff + 3 * ldc + L);
        c40.intoArray(C, cOff + 4 * ldc);
        c41.intoArray(C, cOff + 4 * ldc + L);
        c50.intoArray(C, cOff + 5 * ldc);
        c51.intoArray(C, cOff + 5 * ldc + L);
    }

    /** Packs op(B)[pc:pc+kc, jc:jc+nc] into panels of NR columns, zero-padded: bp[panel][k][j]. */
    private static void packB(float[] bp, Operand b, int pc, int kc, int jc, int nc) {
        for (int p = 0; p < nc; p += NR) {
            int cols = Math.min(NR, nc - p);
            int base = (p / NR) * kc * NR;
            if (!b.trans()) {
                for (int k = 0; k < kc; k++) {
                    b.copyRun(b.offset() + (pc + k) * b.ld() + jc + p, bp, base + k * NR, 1, cols);
                }
            } else {
                for (int j = 0; j < cols; j++) {
                    b.copyRun(b.offset() + (jc + p + j) * b.ld() + pc, bp, base + j, NR, kc);
                }
            }
            if (cols < NR) {
                for (int k = 0; k < kc; k++) {
                    java.util.Arrays.fill(bp, base + k * NR + cols, base + (k + 1) * NR, 0f);
                }
            }
        }
    }

    /** Packs op(A)[ic:ic+mc, pc:pc+kc] into panels of MR rows, zero-padded: ap[panel][k][i]. */
    private static void packA(float[] ap, Operand a, int ic, int mc, int pc, int kc) {
        for (int p = 0; p < mc; p += MR) {
            int rows = Math.min(MR, mc - p);
            int base = (p / MR) * kc * MR;
            if (!a.trans()) {
                for (int i = 0; i < rows; i++) {
                    a.copyRun(a.offset() + (ic + p + i) * a.ld() + pc, ap, base + i, MR, kc);
                }
            } else {
                for (int k = 0; k < kc; k++) {
                    a.copyRun(a.offset() + (pc + k) * a.ld() + ic + p, ap, base + k * MR, 1, rows);
                }
            }
            if (rows < MR) {
                for (int k = 0; k < kc; k++) {
                    java.util.Arrays.fill(ap, base + k * MR + rows, base + (k + 1) * MR, 0f);
                }
            }
        }
    }

    private static void scaleC(int M, int N, float beta, float[] C, int offC, int ldc) {
        for (int m = 0; m < M; m++) {
            if (beta == 0f) {
                java.util.Arrays.fill(C, offC + m * ldc, offC + m * ldc + N, 0f);
            } else if (beta != 1f) {
                VectorOps.scale(C, offC + m * ldc, beta, N);
            }
        }
    }

    /**
     * The scalar twin of {@link #gemm}: a plain triple loop with a double accumulator, used by tests as the
     * reference and never on a hot path.
     */
    public static void gemmScalar(int M, int N, int K, float alpha, Operand a, Operand b,
                                  float beta, float[] C, int offC, int ldc) {
        check(M, N, K, a, b, C, offC, ldc);
        for (int m = 0; m < M; m++) {
            for (int n = 0; n < N; n++) {
                double s = 0;
                for (int k = 0; k < K; k++) {
                    s += (double) a.get(m, k) * b.get(k, n);
                }
                int c = offC + m * ldc + n;
                C[c] = (float) (alpha * s + (beta == 0f ? 0.0 : (double) beta * C[c]));
            }
        }
    }

    private static void check(int M, int N, int K, Operand a, Operand b, float[] C, int offC, int ldc) {
        if (M < 0 || N < 0 || K < 0) {
            throw new IllegalArgumentException("gemm: negative dimension M=" + M + ", N=" + N + ", K=" + K);
        }
        checkOperand("A", a, M, K);
        checkOperand("B", b, K, N);
        if (ldc < N) {
            throw new IllegalArgumentException("gemm: ldc=" + ldc + " is less than N=" + N);
        }
        if (M > 0 && N > 0 && (offC < 0 || (long) offC + (long) (M - 1) * ldc + N > C.length)) {
            throw new IllegalArgumentException("gemm: C (" + M + " x " + N + ", offset " + offC + ", ldc " + ldc
                    + ") does not fit an array of " + C.length);
        }
    }

    private static void checkOperand(String name, Operand x, int rows, int cols) {
        int storedRows = x.trans() ? cols : rows;
        int storedCols = x.trans() ? rows : cols;
        if (x.ld() < storedCols) {
            throw new IllegalArgumentException("gemm: leading dimension of " + name + " is " + x.ld()
                    + ", less than its " + storedCols + " stored columns");
        }
        if (storedRows > 0 && storedCols > 0
                && (x.offset() < 0 || (long) x.offset() + (long) (storedRows - 1) * x.ld() + storedCols > x.length())) {
            throw new IllegalArgumentException("gemm: " + name + " (" + storedRows + " x " + storedCols
                    + " stored, offset " + x.offset() + ", ld " + x.ld() + ") does not fit an array of " + x.length());
        }
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
