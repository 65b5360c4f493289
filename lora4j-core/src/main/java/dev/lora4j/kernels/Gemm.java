package dev.lora4j.kernels;

import dev.lora4j.tensor.DType;
import dev.lora4j.tensor.Storage;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Single-precision matrix multiply, C = α·op(A)·op(B) + β·C, in the BLAS convention: row-major operands with
 * leading dimensions, op(X) = X or Xᵀ. The three forms a layer needs are all this one call:
 * NN (dx = dout·W), NT (y = x·Wᵀ) and TN (dW = doutᵀ·x).
 *
 * <p>The structure is GotoBLAS's: B is packed into column panels of {@link #NR} floats (KC rows deep) that stream
 * from L2, A into tiles of {@link #MR} rows KC deep, and a register-blocked micro-kernel keeps a 6×(2 vectors) tile
 * of C in twelve accumulators, doing 2 loads and 6 broadcasts per 12 FMAs. A tile of packed A holds its six values
 * of each step side by side, so that the kernel reads A as one stream (1.04-1.09× against six rows a constant
 * stride apart, on one core), a transposed A packs by copying runs of six, and a plain one by 8×8 transposes in
 * registers; a product with at most NR columns and a plain A skips packing and runs as dot products along K.
 * Work is split over {@link Parallel} by columns of C, each task packing its own B panels against a shared packed
 * A, or by rows when C is tall and narrow, each task packing its own A against a B that all threads pack together
 * first. Either operand may be stored as bf16 or f16: packing widens it to float32, so a frozen half-precision
 * weight costs half the memory and no extra pass.
 */
public final class Gemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> S8 = FloatVector.SPECIES_256;
    private static final int L = S.length();
    /** Rows of C per micro-kernel tile. */
    public static final int MR = 6;
    /** Columns of C per micro-kernel tile: two vectors. */
    public static final int NR = 2 * L;
    private static final long NR_BYTES = NR * 4L;
    private static final long L_BYTES = L * 4L;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /** K steps per micro-kernel iteration: packed blocks are padded with zero steps to a multiple of this. */
    private static final int STEPS = 4;
    // K block depth. 1536 cuts the K of MiniLM and GPT-2 (384, 768, 1536, 3072) into whole blocks, and each block
    // beyond the first reads C back from L3 or memory: one block instead of two at K = 768 was 6-25% faster than
    // KC = 384 (whose 24 KB B panel stays in L1, where 768's 48 KB streams from L2 without cost) and 4-8% at
    // K = 1536 and 3072; 256 was slower still. 1536 against 768, in-process: K > 768 1.00-1.07× (512×768×3072
    // in all three forms, MiniLM's 2048×384×1536, both with B packed once as in training too), GPT-2's LM head
    // backward (K = 50257) 1.04×, K ≤ 768 0.98-1.04×; 3072 was no better (0.97-1.03×).
    static final int KC = Math.max(STEPS, Integer.getInteger("lora4j.gemm.kc", 1536) & -STEPS);
    // Packed A is tile by tile, MR rows each, and within a tile step by step: the MR values of a step side by
    // side, so that the micro-kernel reads one stream. Tiles are a cache line more than MR·depth floats apart, so
    // that the packing, which writes a step of many tiles in turn, does not find them all in one L1 set.
    private static final int A_TILE_PAD = 16;
    private static final int MC = Math.max(1, Integer.getInteger("lora4j.gemm.mc", 96) / MR) * MR;   // whole tiles
    // A split by columns takes rows of A in blocks of up to this many floats (2 MB: GPT-2's 512 rows at K = 768), so
    // that each B panel is read from memory once per block rather than once per MC rows.
    private static final long A_BLOCK_FLOATS = Long.getLong("lora4j.gemm.ablock", 512 * 1024);
    // K blocks of packed A that a split by columns keeps at once: a block's packing waits for the products of
    // the block this many before it, which are long done when the items are taken in order.
    private static final int A_SLOTS = 4;
    /** Below this many multiply-adds a single thread is faster than handing work to the pool. */
    private static final long PARALLEL_THRESHOLD = 1L << 18;
    private static final int TOUCH_AHEAD = 16;
    private static final int TASKS_PER_THREAD = Integer.getInteger("lora4j.gemm.tasksPerThread", 4);
    private static final int MIN_HALF_RANGE = 6;   // panels (96 columns): the narrowest range that pieces makes
    private static final int MIN_HALF_TILES = 8;   // tiles of rows (48): the fewest in a half that pieces cuts
    private static final int ROW_TASKS_PER_THREAD = Integer.getInteger("lora4j.gemm.rowTasksPerThread", 8);
    // At most this many multiply-adds per task: a product as large as GPT-2's LM head forward (20 G, one K block)
    // in only four tasks per thread can leave one thread idle for up to a task's length at its end, when the VM
    // has slowed the other (1.02-1.05× in-process; its backward, 33 K blocks, already has items enough).
    private static final long TASK_WORK = Long.getLong("lora4j.gemm.taskWork", 1L << 28);

    // The start of a tile that β = 0 overwrites: read-only, NR wide, every row at offset 0.
    private static final float[] ZERO_TILE = new float[NR];

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    private Gemm() {
    }

    /**
     * A matrix operand: storage (a float32 or 16-bit array, or float32 values in a file mapping; exactly one is
     * non-null), offset, leading dimension and whether it is transposed.
     */
    public record Operand(float[] f32, short[] half, Storage.Mapped mapped, DType dtype, int offset, int ld, boolean trans) {
        /** Copies {@code count} consecutive stored elements from {@code src} to dst with stride dstStride. */
        void copyRun(int src, float[] dst, int dstOff, int dstStride, int count) {
            if (mapped != null) {
                if (dstStride == 1) {
                    MemorySegment.copy(mapped.segment(), Storage.Mapped.LAYOUT, 4L * src, dst, dstOff, count);
                } else {
                    for (int i = 0; i < count; i++) {
                        dst[dstOff + i * dstStride] = mapped.segment().getAtIndex(Storage.Mapped.LAYOUT, src + i);
                    }
                }
            } else if (f32 != null) {
                if (dstStride == 1 && count > 16) {
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
            return f32 != null ? f32.length : half != null ? half.length : mapped.length();
        }

        float get(int row, int col) {
            int i = trans ? offset + col * ld + row : offset + row * ld + col;
            return f32 != null ? f32[i] : half != null ? dtype.halfToFloat(half[i]) : mapped.get(i);
        }

        /** What the storage is, for the cache of packed frozen weights. */
        Object key() {
            return f32 != null ? f32 : half != null ? half : mapped;
        }
    }

    /** Per-thread packing buffers, grown on demand and reused, so a steady training loop allocates nothing. */
    private static final class Buffers {
        float[] a = new float[0];                      // this task's packed A, or all of A when shared
        final float[] panel = new float[NR * KC];       // one B panel packed on the heap, then copied into place
        MemorySegment bAligned = MemorySegment.NULL;   // packed B as the micro-kernel reads it
        final float[] tile = new float[MR * NR];
        float touched;                                 // the sum of packRowsInPlace's prefetching loads
        private float[] transposedC = new float[0];   // Cᵀ of a product computed transposed
        private float[] transposedB = new float[0];   // op(B)ᵀ of a product with few columns

        float[] a(int n) {
            if (a.length < n) {
                a = new float[n];
            }
            return a;
        }

        float[] transposedB(int n) {
            if (transposedB.length < n) {
                transposedB = new float[n];
            }
            return transposedB;
        }

        float[] transposedC(int n) {
            if (transposedC.length < n) {
                transposedC = new float[n];
            }
            return transposedC;
        }

        /**
         * Packs op(B) columns [n0, n1) for K rows [k0, k1) (k0 a multiple of KC) and returns them in native
         * memory aligned to a cache line, K block k0 first.
         * Vector loads from a Java array sit wherever the GC put the array: one that straddles cache lines costs
         * up to a third of the kernel's speed, and which you get changes from run to run. With {@code shared},
         * the panels are packed by all threads (for a B that every task reads), else by this one.
         */
        MemorySegment packB(Operand op, int n0, int n1, int k0, int k1, boolean shared) {
            int pad = ceilDiv(n1 - n0, NR) * NR;
            long n = (long) pad * depth(k1 - k0);
            if (bAligned.byteSize() < n * 4L) {
                bAligned = Arena.ofAuto().allocate(n * 4L, 64);
            }
            MemorySegment dst = bAligned;
            if (!shared) {
                packPanelsInto(dst, pad, op, n0, 0, n1 - n0, k0, k1, panel);
                return dst;
            }
            int panels = pad / NR;
            int groups = Math.min(panels, 2 * Parallel.threads());
            Parallel.forEach(groups, g -> {
                int p0 = partStart(panels, g, groups, NR, n1 - n0), p1 = partStart(panels, g + 1, groups, NR, n1 - n0);
                packPanelsInto(dst, pad, op, n0, p0, p1, k0, k1, BUFFERS.get().panel);
            });
            return dst;
        }
    }

    /**
     * Packs op(B) columns [n0 + p0, n0 + p1) (p0 a multiple of NR) into their panels of a packing of pad columns
     * from n0, for K rows [k0, k1), K block k0 at the start of dst. A plain float32 B is written in place a row at
     * a time (each of its rows read once, front to back); other panels go through the one-panel heap buffer
     * {@code panel}.
     */
    private static void packPanelsInto(MemorySegment dst, int pad, Operand op, int n0, int p0, int p1, int k0, int k1,
                                       float[] panel) {
        int rowWise = op.f32() != null && !op.trans() ? (p1 - p0) / NR * NR : 0;
        for (int pc = k0; pc < k1; pc += KC) {
            int kc = Math.min(KC, k1 - pc);
            int depth = depth(kc);
            int block = (pc - k0) * pad;
            if (rowWise > 0) {
                packRowsInPlace(dst, block + p0 * depth, op, n0 + p0, rowWise, pc, kc, depth);
            }
            for (int p = p0 + rowWise; p < p1; p += NR) {
                packPanel(panel, 0, op, n0 + p, Math.min(NR, p1 - p), pc, kc, depth);
                MemorySegment.copy(panel, 0, dst, ValueLayout.JAVA_FLOAT, (long) (block + p * depth) * 4, depth * NR);
            }
        }
    }

    /** An operand stored as float32. */
    public static Operand f32(float[] data, int offset, int ld, boolean trans) {
        return new Operand(data, null, null, DType.F32, offset, ld, trans);
    }

    /** An operand stored as raw bf16 or f16 bits. */
    public static Operand half(short[] data, DType dtype, int offset, int ld, boolean trans) {
        if (!dtype.isHalf()) {
            throw new IllegalArgumentException("Gemm.half: dtype " + dtype + " is not a 16-bit type");
        }
        return new Operand(null, data, null, dtype, offset, ld, trans);
    }

    /** An operand of float32 values read in place from a file mapping. */
    public static Operand mapped(Storage.Mapped data, int offset, int ld, boolean trans) {
        return new Operand(null, null, data, DType.F32, offset, ld, trans);
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

    /** A frozen B operand packed once for all of N and K, in aligned native memory. */
    private record PackedB(int offset, int ld, boolean trans, int N, int K, MemorySegment panels) {
        boolean matches(Operand b, int n, int k) {
            return offset == b.offset() && ld == b.ld() && trans == b.trans() && N == n && K == k;
        }
    }

    // Packed forms of frozen weights, by backing array; an entry is dropped whenever its array may have changed.
    private static final Map<Object, List<PackedB>> FROZEN = new WeakHashMap<>();

    /**
     * Forgets any packed copy of {@code array}: tensors call this whenever they write into their storage, and
     * parameters when they are frozen, unfrozen or replaced.
     */
    public static void invalidate(Object array) {
        synchronized (FROZEN) {
            if (!FROZEN.isEmpty()) {
                FROZEN.remove(array);
            }
        }
    }

    private static MemorySegment frozenPanels(Operand b, int N, int K) {
        Object array = b.key();
        synchronized (FROZEN) {
            for (PackedB p : FROZEN.getOrDefault(array, List.of())) {
                if (p.matches(b, N, K)) {
                    return p.panels();
                }
            }
        }
        int n = ceilDiv(N, NR) * NR * depth(K);
        MemorySegment seg = Arena.ofAuto().allocate(n * 4L, 64);
        int blocks = ceilDiv(N, NR);
        int perTask = Math.max(1, ceilDiv(blocks, Parallel.threads() * 4));
        // Panels of different column blocks are disjoint within every K block, so packing splits by columns;
        // each task writes its panels straight to their place (a plain float32 weight row by row, others a panel
        // at a time through the thread's one-panel buffer). Packing a task's columns into a heap array first
        // made GPT-2 small's 475 MB of weights as much short-lived garbage, mostly in arrays too large for the
        // young generation, and G1 grew the heap to 3.5 GB for a live set of 1.4 GB.
        int pad = ceilDiv(N, NR) * NR;
        Parallel.forEach(ceilDiv(blocks, perTask), t -> {
            int c0 = t * perTask * NR, c1 = Math.min(N, (t + 1) * perTask * NR);
            packPanelsInto(seg, pad, b, 0, c0, c1, 0, K, BUFFERS.get().panel);
        });
        synchronized (FROZEN) {
            FROZEN.computeIfAbsent(array, k -> new ArrayList<>()).add(new PackedB(b.offset(), b.ld(), b.trans(), N, K, seg));
        }
        return seg;
    }

    /**
     * As {@link #gemm}, for a B that does not change between calls (a frozen weight): its packed panels are made
     * once and kept until {@link #invalidate} is called for its array, so steady training packs only A.
     */
    public static void gemmFrozenB(int M, int N, int K, float alpha, Operand a, Operand b,
                                   float beta, float[] C, int offC, int ldc) {
        check(M, N, K, a, b, C, offC, ldc);
        if (M == 0 || N == 0 || K == 0 || alpha == 0f || !packOnce(M, N, K, b)) {
            gemm(M, N, K, alpha, a, b, beta, C, offC, ldc);
            return;
        }
        run(M, N, K, alpha, a, b, beta, C, offC, ldc, frozenPanels(b, N, K), null, 0);
    }

    /**
     * C = α·op(A)·op(B) + bias, the N bias values (from biasOff) added to every row: a dense layer's forward in
     * one pass over C, the bias being where the micro-kernel's accumulators start. With {@code frozenB}, B is
     * treated as {@link #gemmFrozenB} treats it.
     *
     * @throws IllegalArgumentException if a dimension is negative, an operand does not fit its array or the
     *                                  bias does not hold N values from biasOff
     */
    public static void gemmBias(int M, int N, int K, float alpha, Operand a, Operand b, float[] bias, int biasOff,
                                float[] C, int offC, int ldc, boolean frozenB) {
        check(M, N, K, a, b, C, offC, ldc);
        if (biasOff < 0 || (long) biasOff + N > bias.length) {
            throw new IllegalArgumentException("gemm: bias (" + N + " values from offset " + biasOff
                    + ") does not fit an array of " + bias.length);
        }
        if (M == 0 || N == 0) {
            return;
        }
        if (K == 0 || alpha == 0f) {
            for (int m = 0; m < M; m++) {
                System.arraycopy(bias, biasOff, C, offC + m * ldc, N);
            }
            return;
        }
        run(M, N, K, alpha, a, b, 0f, C, offC, ldc, frozenB && packOnce(M, N, K, b) ? frozenPanels(b, N, K) : null, bias, biasOff);
    }

    // Whether a frozen B is worth keeping packed: not for products too small to matter, and not for a bf16/f16
    // weight, which is stored narrow to halve its memory (a float32 packed copy would undo that).
    private static boolean packOnce(int M, int N, int K, Operand b) {
        return (long) M * N * K >= PARALLEL_THRESHOLD && b.dtype() == DType.F32;
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
        if (a.trans() && !b.trans() && N <= L && M >= 8 * NR) {
            // A weight gradient with few columns (LoRA's dB = doutᵀ·g, N = r): computed as Cᵀ = α·Bᵀ·A, so that
            // the tall A streams through as B's panels, packed by vector row copies, against a packed A of N rows.
            float[] ct = BUFFERS.get().transposedC(M * N);
            run(N, M, K, alpha, flipped(b), flipped(a), 0f, ct, 0, M, null, null, 0);
            for (int i = 0; i < M; i++) {
                for (int j = 0; j < N; j++) {
                    int c = offC + i * ldc + j;
                    C[c] = (beta == 0f ? 0f : beta * C[c]) + ct[j * M + i];
                }
            }
            return;
        }
        if (!a.trans() && N <= NR && K >= 2 * L && a.f32() != null && b.f32() != null) {
            narrow(M, N, K, alpha, a, b, beta, C, offC, ldc);
            return;
        }
        run(M, N, K, alpha, a, b, beta, C, offC, ldc, null, null, 0);
    }

    // C = α·A·op(B) + β·C for a plain float32 A and at most NR columns (LoRA's x·Aᵀ and dout·B, N = r), as dot
    // products along K: the micro-kernel would first pack all M·K of A, step by step, to multiply each value
    // with only N others, and that transposition cost more than the products (0.6× of a row-major packing).
    private static void narrow(int M, int N, int K, float alpha, Operand a, Operand b, float beta, float[] C, int offC, int ldc) {
        // op(B)'s columns as rows, contiguous along K: a transposed B's stored rows, or a copy of a plain B's columns.
        float[] bt = b.trans() ? b.f32() : columnsAsRows(b, N, K);
        int btOff = b.trans() ? b.offset() : 0, ldbt = b.trans() ? b.ld() : K;
        long work = (long) M * N * K;
        int tasks = work < PARALLEL_THRESHOLD ? 1 : Math.min(M, Parallel.threads() * ROW_TASKS_PER_THREAD);
        Parallel.forEach(tasks, t -> {
            int m0 = (int) ((long) M * t / tasks), m1 = (int) ((long) M * (t + 1) / tasks);
            dotRows(a.f32(), a.offset(), a.ld(), bt, btOff, ldbt, m0, m1, N, K, alpha, beta, C, offC, ldc);
        });
    }

    // The N columns of a plain float32 B (K rows) as the rows of an N × K copy in this thread's buffer.
    private static float[] columnsAsRows(Operand b, int N, int K) {
        float[] bt = BUFFERS.get().transposedB(N * K);
        for (int k = 0; k < K; k++) {
            for (int n = 0; n < N; n++) {
                bt[n * K + k] = b.f32()[b.offset() + k * b.ld() + n];
            }
        }
        return bt;
    }

    // Rows [m0, m1) of C = α·A·Btᵀ + β·C, Bt's N rows ldbt apart: four columns of C at a time, each a vector dot
    // product of an A row (read once per four columns, from L1 after the first) with a row of Bt.
    private static void dotRows(float[] A, int aOff, int lda, float[] bt, int btOff, int ldbt, int m0, int m1, int N,
                                int K, float alpha, float beta, float[] C, int offC, int ldc) {
        int kv = K / L * L;
        for (int m = m0; m < m1; m++) {
            int ar = aOff + m * lda;
            for (int n = 0; n < N; n += 4) {
                // Past N, the last row of Bt again: computed and dropped, so that the loop has no branches.
                int b0 = btOff + n * ldbt, b1 = btOff + Math.min(n + 1, N - 1) * ldbt;
                int b2 = btOff + Math.min(n + 2, N - 1) * ldbt, b3 = btOff + Math.min(n + 3, N - 1) * ldbt;
                FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
                for (int k = 0; k < kv; k += L) {
                    FloatVector x = FloatVector.fromArray(S, A, ar + k);
                    s0 = x.fma(FloatVector.fromArray(S, bt, b0 + k), s0);
                    s1 = x.fma(FloatVector.fromArray(S, bt, b1 + k), s1);
                    s2 = x.fma(FloatVector.fromArray(S, bt, b2 + k), s2);
                    s3 = x.fma(FloatVector.fromArray(S, bt, b3 + k), s3);
                }
                float d0 = s0.reduceLanes(VectorOperators.ADD), d1 = s1.reduceLanes(VectorOperators.ADD);
                float d2 = s2.reduceLanes(VectorOperators.ADD), d3 = s3.reduceLanes(VectorOperators.ADD);
                for (int k = kv; k < K; k++) {
                    float x = A[ar + k];
                    d0 += x * bt[b0 + k];
                    d1 += x * bt[b1 + k];
                    d2 += x * bt[b2 + k];
                    d3 += x * bt[b3 + k];
                }
                int c = offC + m * ldc + n;
                store(C, c, alpha * d0, beta);
                if (n + 1 < N) {
                    store(C, c + 1, alpha * d1, beta);
                }
                if (n + 2 < N) {
                    store(C, c + 2, alpha * d2, beta);
                }
                if (n + 3 < N) {
                    store(C, c + 3, alpha * d3, beta);
                }
            }
        }
    }

    private static void store(float[] C, int c, float value, float beta) {
        C[c] = beta == 0f ? value : value + beta * C[c];
    }

    // The same storage read as its transpose.
    private static Operand flipped(Operand x) {
        return new Operand(x.f32(), x.half(), x.mapped(), x.dtype(), x.offset(), x.ld(), !x.trans());
    }

    // The blocked, threaded product; `frozen` is B already packed for all of N (or null: pack B here); with β = 0,
    // C's rows start from rowInit (N values from rowInitOff) when it is not null, from zero otherwise.
    private static void run(int M, int N, int K, float alpha, Operand a, Operand b, float beta, float[] C, int offC, int ldc,
                            MemorySegment frozen, float[] rowInit, int rowInitOff) {
        long work = (long) M * N * K;
        int threads = work < PARALLEL_THRESHOLD ? 1 : Parallel.threads();
        // Split C by columns (each task packs its own B; A is packed once and shared) unless C is tall and
        // narrow, then by rows (B shared). A few tasks per thread, so a thread that the OS holds back leaves its
        // share to the others; twice as many by rows, where a task costs nothing more than its rows' packing
        // (MiniLM's 2048-row products 1.00-1.05× in-process), as by columns, where narrower tasks read shorter
        // runs of B and all of A once more each (GPT-2's 512-row products 0.94-0.97× with eight).
        boolean splitColumns = N >= M || M < MR * threads;
        int units = splitColumns ? ceilDiv(N, NR) : ceilDiv(M, MR);
        int tasks = Math.max(1, Math.min(units, threads == 1 ? 1
                : (int) Math.max(threads * (splitColumns ? TASKS_PER_THREAD : ROW_TASKS_PER_THREAD),
                Math.min(1 << 16, work / TASK_WORK))));
        int nPad = ceilDiv(N, NR) * NR;
        Buffers shared = BUFFERS.get();
        if (splitColumns) {
            int mPad = ceilDiv(M, MR) * MR;
            int kBlocks = ceilDiv(K, KC), mUnits = ceilDiv(M, MR);
            int[] pieces = pieces(units, tasks, threads, mUnits, N, M);
            int parts = pieces.length / 4;
            // Packed A holds at most A_SLOTS K blocks, reused in turn: GPT-2's LM head backward (K = 50257,
            // 33 blocks) would otherwise pack all 103 MB of dlogits into a buffer as large, written out to memory
            // and kept for the life of the thread, where a few 3 MB blocks stay in cache.
            int slots = Math.min(kBlocks, A_SLOTS);
            float[] ap = shared.a(aBlockFloats(mPad) * slots);
            // Items K block by K block: the block's A in groups (of rows, or of K steps when transposed), so that both
            // threads pack it, and its product for each piece of C (see pieces). Both threads so read one block of A
            // while it is in L2 or L3, rather than each task streaming all of A on its own (512×768×3072 1.02-1.11×
            // in-process), and no barrier separates packing from products. The next block's packing is spread among
            // this block's products (see schedule), so that a thread stalled on memory packing A runs beside one
            // multiplying: K > KC 1.01-1.04× in-process (512×768×3072 in all three forms, GPT-2's LM head backward, B
            // packed once or not). An item waits (rarely: other items were taken in between) for the packing of its
            // block and for its piece's previous block, which adds into the same C.
            int rowGroups = parts > 1 ? Math.min(mUnits, 2 * threads) : 1, perBlock = rowGroups + parts;
            AtomicIntegerArray groupsPacked = new AtomicIntegerArray(kBlocks), blocksDone = new AtomicIntegerArray(parts);
            int mc = rowBlock(mPad, K);
            int[] order = schedule(kBlocks, rowGroups, parts);
            Parallel.forEach(order.length, item -> {
                int block = order[item] / perBlock, j = order[item] % perBlock;
                int k0 = block * KC, k1 = Math.min(K, k0 + KC);
                int slot = block % slots * aBlockFloats(mPad), tileStride = aTile(depth(k1 - k0));
                if (j < rowGroups) {
                    try {
                        if (block >= slots) {
                            for (int t = 0; t < parts; t++) {   // the block that used this slot before is done with it
                                awaitCount(blocksDone, t, block - slots + 1);
                            }
                        }
                        if (a.trans()) {
                            // A transposed A is read along its stored rows, which are K steps: groups of steps
                            // read whole rows rather than a short run of every row (TN 1.01-1.02× in-process).
                            // Groups are whole lines of 16 steps, so only the last pads its block with zeros.
                            int lines = ceilDiv(k1 - k0, 16);
                            int s0 = k0 + partStart(lines, j, rowGroups, 16, k1 - k0);
                            int s1 = k0 + partStart(lines, j + 1, rowGroups, 16, k1 - k0);
                            packABlock(ap, slot, a, 0, M, 0, M, k0, k1 - k0, s0, s1, alpha);
                        } else {
                            packABlock(ap, slot, a, 0, M, partStart(mUnits, j, rowGroups, MR, M),
                                    partStart(mUnits, j + 1, rowGroups, MR, M), k0, k1 - k0, k0, k1, alpha);
                        }
                    } finally {
                        groupsPacked.incrementAndGet(block);   // even when failing, so that no item waits forever
                    }
                    return;
                }
                int t = j - rowGroups;
                int n0 = pieces[4 * t], n1 = pieces[4 * t + 1], m0 = pieces[4 * t + 2], m1 = pieces[4 * t + 3];
                int c0 = offC + m0 * ldc + n0;
                try {
                    if (beta != 0f && block == 0) {
                        scaleC(m1 - m0, n1 - n0, beta, C, c0, ldc);   // the micro-kernel adds into C
                    }
                    awaitCount(groupsPacked, block, rowGroups);
                    awaitCount(blocksDone, t, block);
                    Buffers own = BUFFERS.get();
                    boolean overwrite = beta == 0f && block == 0;
                    if (frozen != null) {
                        MemorySegment bs = block == 0 ? frozen : frozen.asSlice((long) k0 * nPad * 4);
                        multiply(ap, mPad, m1 - m0, mc, bs, n0, nPad, n1 - n0, k1 - k0, slot + m0 / MR * tileStride, C, c0, ldc,
                                overwrite, rowInit, rowInitOff + n0, own.tile);
                    } else {
                        // B packed just before its product, so that the kernel reads it from L2: packed for all of
                        // K first, the early blocks went out to L3 before they were read (512×768×3072 1.02-1.06×).
                        MemorySegment bs = own.packB(b, n0, n1, k0, k1, false);
                        multiply(ap, mPad, m1 - m0, mc, bs, 0, ceilDiv(n1 - n0, NR) * NR, n1 - n0, k1 - k0,
                                slot + m0 / MR * tileStride, C, c0, ldc, overwrite, rowInit, rowInitOff + n0, own.tile);
                    }
                } finally {
                    blocksDone.incrementAndGet(t);
                }
            });
        } else {
            MemorySegment bs = frozen != null ? frozen : shared.packB(b, 0, N, 0, K, threads > 1);
            // As pieces does by columns, the last 2·threads row ranges are half as tall as the others.
            boolean halves = threads > 1 && tasks >= 2 * threads && units >= 2 * tasks * MIN_HALF_TILES;
            Parallel.forEach(halves ? tasks + threads : tasks, t -> {
                int m0 = halves ? taperedStart(units, t, tasks, threads, MR, M) : partStart(units, t, tasks, MR, M);
                int m1 = halves ? taperedStart(units, t + 1, tasks, threads, MR, M) : partStart(units, t + 1, tasks, MR, M);
                if (beta != 0f) {
                    scaleC(m1 - m0, N, beta, C, offC + m0 * ldc, ldc);
                }
                Buffers own = BUFFERS.get();
                // The shared B lives in the calling thread's buffers; tasks only ever touch their own a, packed
                // two MC blocks at a time so that it is still in L2 when the kernel reads it (packing the task's
                // rows at once left them to be evicted by B streaming past: 0-6% slower at MiniLM's shapes), or
                // one when K is deeper than 768, where two are larger than L2 (2048×384×1536 NN 1.00-1.08×,
                // NT 1.02-1.03× in-process).
                int chunk = K > 768 ? MC : 2 * MC;
                for (int c0 = m0; c0 < m1; c0 += chunk) {
                    int c1 = Math.min(m1, c0 + chunk);
                    int mPad = ceilDiv(c1 - c0, MR) * MR;
                    float[] ap = own.a(packedASize(mPad, K));
                    packA(ap, 0, a, c0, c1, 0, c1 - c0, 0, K, alpha);
                    multiply(ap, mPad, c1 - c0, MC, bs, 0, nPad, N, K, 0, C, offC + c0 * ldc, ldc, beta == 0f, rowInit,
                            rowInitOff, own.tile);
                }
            });
        }
    }

    /**
     * C[0:rows, 0:cols] += Apacked·Bpacked, where A holds {@code rows} rows (padded to aPad) and the packed B
     * holds bPad columns, of which this call uses {@code cols} starting at column bCol0 (a multiple of NR); both
     * are packed in KC-deep blocks for the K rows of this call, A's first block at aStart. Within a K block the
     * loop order is GotoBLAS's: a KC×NR panel of B is reused by every micro-tile of an mc×KC block of A (MC rows,
     * which stay in L2, or {@link #rowBlock}'s larger blocks when B streams from memory). The K blocks are the
     * inner loop of the row blocks, so that the next K block finds those rows of C still in cache rather than
     * reading them back from L3; a split by columns passes one K block at a time (its items go K block by K
     * block), so there the row blocks are the inner loop. With {@code overwrite} (β = 0) the first K block writes
     * C instead of adding to it, reading its starting values from a zero tile rather than from a C filled with
     * zeros first, or from rowInit (cols values from rowInitOff, the same for every row) when that is not null.
     */
    private static void multiply(float[] ap, int aPad, int rows, int mc, MemorySegment bs, int bCol0, int bPad, int cols,
                                 int K, int aStart, float[] C, int cOff, int ldc, boolean overwrite, float[] rowInit,
                                 int rowInitOff, float[] tile) {
        for (int ic = 0; ic < rows; ic += mc) {
            int icEnd = Math.min(rows, ic + mc);
            for (int pc = 0; pc < K; pc += KC) {
                int kc = depth(Math.min(KC, K - pc));
                boolean fresh = overwrite && pc == 0;
                int aBlock = aStart + pc / KC * aBlockFloats(aPad), tileStride = aTile(kc);
                long bBlock = (long) pc * bPad;
                for (int jr = 0; jr < cols; jr += NR) {
                    int nr = Math.min(NR, cols - jr);
                    long bOff = (bBlock + (long) (bCol0 + jr) * kc) * 4;
                    for (int ir = ic; ir < icEnd; ) {
                        int mr = Math.min(MR, rows - ir);
                        int aOff = aBlock + ir / MR * tileStride;
                        int c = cOff + ir * ldc + jr;
                        // One call site, so that C2 compiles (or inlines) the micro-kernel once, whatever the edges;
                        // one call for all the whole tiles down the panel.
                        boolean full = mr == MR && nr == NR;
                        int tiles = full ? (icEnd - ir) / MR : 1;
                        boolean fromRowInit = full && fresh && rowInit != null;
                        float[] from = full && !fresh ? C : fromRowInit ? rowInit : ZERO_TILE;
                        int fromOff = full && !fresh ? c : fromRowInit ? rowInitOff + jr : 0;
                        microKernel(ap, aOff, tileStride, bs, bOff, kc, from, fromOff, full && !fresh ? ldc : 0,
                                full ? C : tile, full ? c : 0, full ? ldc : NR, tiles);
                        if (!full) {
                            addEdgeTile(tile, mr, nr, C, c, ldc, fresh, rowInit, rowInitOff + jr);
                        }
                        ir += tiles * MR;
                    }
                }
            }
        }
    }

    /**
     * Writes the mr × nr corner of an edge tile computed into {@code tile} to C, added to C's values or, when
     * {@code fresh}, to the row start values (rowInit from rowInitOff, or zeros). Columns past the last whole panel
     * (LoRA's r = 8 with a transposed A) are edge tiles, and so are the last rows when M is not a multiple of MR.
     * Each row is its two masked vectors, and the start values' source is chosen before the loop:
     * loops over j, and branches inside the loop, gave C2's hoisted range checks cases that a later call broke,
     * which sent it to the interpreter and the method to be compiled again, several times a run.
     */
    private static void addEdgeTile(float[] tile, int mr, int nr, float[] C, int c, int ldc, boolean fresh,
                                    float[] rowInit, int rowInitOff) {
        float[] start = !fresh ? C : rowInit != null ? rowInit : ZERO_TILE;
        int startOff = !fresh ? c : rowInit != null ? rowInitOff : 0;
        int startLd = !fresh ? ldc : 0;
        VectorMask<Float> lo = S.indexInRange(0, nr), hi = S.indexInRange(L, nr);
        for (int i = 0; i < mr; i++) {
            int row = c + i * ldc, from = startOff + i * startLd;
            FloatVector.fromArray(S, start, from, lo).add(FloatVector.fromArray(S, tile, i * NR)).intoArray(C, row, lo);
            FloatVector.fromArray(S, start, from + L, hi).add(FloatVector.fromArray(S, tile, i * NR + L)).intoArray(C, row + L, hi);
        }
    }

    /**
     * C tile (6 × NR) = start tile + A rows·Bpanel (α is folded into packed A), where the start tile is read from
     * {@code in} (C itself, or with inLd = 0 a zero tile or a bias row) and the result written to C. A's tile starts at
     * aOff, its six values of each step side by side, and the next tile aTileStride on; A and B are kc deep, kc a
     * multiple of {@link #STEPS} (packing pads with zero steps).
     * The accumulators start from C rather than zero: the loads are issued first and their cache misses overlap
     * the FMA loop, which is the prefetch Java cannot otherwise express. Twelve accumulators, two loads of B and
     * six broadcasts of A per step, the shape that fits AVX2's sixteen registers (4 × 3 vectors and 5 × 2 were
     * no faster). A store helper, or vectors kept across a call that is not inlined, would box every vector.
     * One call computes {@code tiles} such tiles down the B panel, each MR rows below the last (in, C and A
     * alike), so that a panel's run of whole tiles pays for one call: MiniLM's training step, whose products
     * are 2048 rows deep and only 384 deep in K, 1.08× in-process; GPT-2's 1.03×.
     */
    private static void microKernel(float[] ap, int aOff, int aTileStride, MemorySegment bp, long bOff, int kc,
                                    float[] in, int inOff, int inLd, float[] C, int cOff, int ldc, int tiles) {
        for (int tile = 0; tile < tiles; tile++, aOff += aTileStride, inOff += MR * inLd, cOff += MR * ldc) {
            FloatVector c00 = FloatVector.fromArray(S, in, inOff), c01 = FloatVector.fromArray(S, in, inOff + L);
            FloatVector c10 = FloatVector.fromArray(S, in, inOff + inLd), c11 = FloatVector.fromArray(S, in, inOff + inLd + L);
            FloatVector c20 = FloatVector.fromArray(S, in, inOff + 2 * inLd), c21 = FloatVector.fromArray(S, in, inOff + 2 * inLd + L);
            FloatVector c30 = FloatVector.fromArray(S, in, inOff + 3 * inLd), c31 = FloatVector.fromArray(S, in, inOff + 3 * inLd + L);
            FloatVector c40 = FloatVector.fromArray(S, in, inOff + 4 * inLd), c41 = FloatVector.fromArray(S, in, inOff + 4 * inLd + L);
            FloatVector c50 = FloatVector.fromArray(S, in, inOff + 5 * inLd), c51 = FloatVector.fromArray(S, in, inOff + 5 * inLd + L);
            FloatVector b0, b1, x;
            // A counted loop over groups of four steps: C2 moves the checks on packed A out of the loop and does
            // not unroll it into register spills (an uncounted two-step loop kept a check per load and ran 20%
            // slower whenever the core was shared). B's offset is derived from the int k on purpose: written as a
            // long product of g, C2 also splits the loop to drop the segment checks, and the split loop spills all
            // twelve accumulators to the stack on every iteration.
            int groups = kc / STEPS;
            for (int g = 0; g < groups; g++) {
                int k = g * STEPS;
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
                b0 = FloatVector.fromMemorySegment(S, bp, b + 1 * NR_BYTES, ORDER);
                b1 = FloatVector.fromMemorySegment(S, bp, b + 1 * NR_BYTES + L_BYTES, ORDER);
                x = FloatVector.broadcast(S, ap[a + 6]);
                c00 = b0.fma(x, c00); c01 = b1.fma(x, c01);
                x = FloatVector.broadcast(S, ap[a + 7]);
                c10 = b0.fma(x, c10); c11 = b1.fma(x, c11);
                x = FloatVector.broadcast(S, ap[a + 8]);
                c20 = b0.fma(x, c20); c21 = b1.fma(x, c21);
                x = FloatVector.broadcast(S, ap[a + 9]);
                c30 = b0.fma(x, c30); c31 = b1.fma(x, c31);
                x = FloatVector.broadcast(S, ap[a + 10]);
                c40 = b0.fma(x, c40); c41 = b1.fma(x, c41);
                x = FloatVector.broadcast(S, ap[a + 11]);
                c50 = b0.fma(x, c50); c51 = b1.fma(x, c51);
                b0 = FloatVector.fromMemorySegment(S, bp, b + 2 * NR_BYTES, ORDER);
                b1 = FloatVector.fromMemorySegment(S, bp, b + 2 * NR_BYTES + L_BYTES, ORDER);
                x = FloatVector.broadcast(S, ap[a + 12]);
                c00 = b0.fma(x, c00); c01 = b1.fma(x, c01);
                x = FloatVector.broadcast(S, ap[a + 13]);
                c10 = b0.fma(x, c10); c11 = b1.fma(x, c11);
                x = FloatVector.broadcast(S, ap[a + 14]);
                c20 = b0.fma(x, c20); c21 = b1.fma(x, c21);
                x = FloatVector.broadcast(S, ap[a + 15]);
                c30 = b0.fma(x, c30); c31 = b1.fma(x, c31);
                x = FloatVector.broadcast(S, ap[a + 16]);
                c40 = b0.fma(x, c40); c41 = b1.fma(x, c41);
                x = FloatVector.broadcast(S, ap[a + 17]);
                c50 = b0.fma(x, c50); c51 = b1.fma(x, c51);
                b0 = FloatVector.fromMemorySegment(S, bp, b + 3 * NR_BYTES, ORDER);
                b1 = FloatVector.fromMemorySegment(S, bp, b + 3 * NR_BYTES + L_BYTES, ORDER);
                x = FloatVector.broadcast(S, ap[a + 18]);
                c00 = b0.fma(x, c00); c01 = b1.fma(x, c01);
                x = FloatVector.broadcast(S, ap[a + 19]);
                c10 = b0.fma(x, c10); c11 = b1.fma(x, c11);
                x = FloatVector.broadcast(S, ap[a + 20]);
                c20 = b0.fma(x, c20); c21 = b1.fma(x, c21);
                x = FloatVector.broadcast(S, ap[a + 21]);
                c30 = b0.fma(x, c30); c31 = b1.fma(x, c31);
                x = FloatVector.broadcast(S, ap[a + 22]);
                c40 = b0.fma(x, c40); c41 = b1.fma(x, c41);
                x = FloatVector.broadcast(S, ap[a + 23]);
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
    }

    /**
     * Packs rows [m0 + r0, m0 + r1) of op(A) (r0 a multiple of MR), of a packed A that holds rows [m0, m1), for the
     * K blocks in [k0, k1), block k0 at apBase, and folds α into them.
     */
    private static void packA(float[] ap, int apBase, Operand a, int m0, int m1, int r0, int r1, int k0, int k1, float alpha) {
        int mPad = ceilDiv(m1 - m0, MR) * MR;
        for (int pc = k0; pc < k1; pc += KC) {
            int kc = Math.min(KC, k1 - pc);
            packABlock(ap, apBase + (pc - k0) / KC * aBlockFloats(mPad), a, m0, m1, r0, r1, pc, kc, pc, pc + kc, alpha);
        }
    }

    /**
     * Packs steps [s0, s1) of the K block [pc, pc + kc) of op(A), rows [m0 + r0, m0 + r1) (r0 a multiple of MR) of
     * a packed A that holds rows [m0, m1), into the block at base, folding α into them. Rows past m1 in the last
     * tile are zeros, and so are the steps from kc to the block's depth when s1 ends the block. Threads may pack
     * different rows, or different steps, of one block at once.
     */
    private static void packABlock(float[] ap, int base, Operand a, int m0, int m1, int r0, int r1, int pc, int kc,
                                   int s0, int s1, float alpha) {
        int rows = m1 - m0, depth = depth(kc), stride = aTile(depth), t0 = r0 / MR, t1 = ceilDiv(r1, MR);
        float[] f32 = a.f32();
        // A vector store of 8 values at a step of a tile also writes 2 of the next step, which the next store
        // overwrites; the last step's 2 land in a zero step or the tile's pad, written later or never read. So
        // vector stores stop short of a step that another thread packs (s1 inside the block).
        int lastStore = s1 == pc + kc ? s1 : s1 - 1;
        if (f32 != null && !a.trans() && Transpose.AVAILABLE) {
            // Each tile's rows are stored rows: 8 steps of 8 of them (the tile's six, and the next tile's first two,
            // which its steps' stores overwrite) at a time transposed in registers, the rest a value at a time.
            for (int t = t0; t < t1; t++) {
                int tb = base + t * stride - pc * MR, row = a.offset() + (m0 + t * MR) * a.ld(), real = Math.min(MR, rows - t * MR);
                int k = s0;
                for (; t * MR + 8 <= rows && k + 8 <= lastStore; k += 8) {
                    Transpose.block8(f32, row + k, a.ld(), ap, tb + k * MR, MR);
                }
                for (; k < s1; k++) {
                    for (int i = 0; i < MR; i++) {
                        ap[tb + k * MR + i] = i < real ? f32[row + i * a.ld() + k] : 0f;
                    }
                }
            }
        } else if (f32 != null && Transpose.AVAILABLE) {
            // A transposed A: a step of a tile is MR consecutive values of a stored row, copied as a vector of 8.
            for (int k = s0; k < s1; k++) {
                int src = a.offset() + k * a.ld() + m0, d = base + (k - pc) * MR;
                int t = t0;
                for (; t < t1 && t * MR + 8 <= rows && k < lastStore; t++) {
                    FloatVector.fromArray(S8, f32, src + t * MR).intoArray(ap, d + t * stride);
                }
                for (; t < t1; t++) {
                    for (int i = 0; i < MR; i++) {
                        ap[d + t * stride + i] = t * MR + i < rows ? f32[src + t * MR + i] : 0f;
                    }
                }
            }
        } else {
            for (int t = t0; t < t1; t++) {
                int tb = base + t * stride - pc * MR, real = Math.min(MR, rows - t * MR);
                for (int k = s0; k < s1; k++) {
                    if (a.trans()) {
                        a.copyRun(a.offset() + k * a.ld() + m0 + t * MR, ap, tb + k * MR, 1, real);
                    }
                    java.util.Arrays.fill(ap, tb + k * MR + real, tb + k * MR + MR, 0f);
                }
                for (int i = 0; i < real && !a.trans(); i++) {
                    a.copyRun(a.offset() + (m0 + t * MR + i) * a.ld() + s0, ap, tb + s0 * MR + i, MR, s1 - s0);
                }
            }
        }
        for (int t = t0; t < t1 && alpha != 1f; t++) {
            VectorOps.scale(ap, base + t * stride + (s0 - pc) * MR, alpha, (s1 - s0) * MR);
        }
        if (s1 == pc + kc) {   // the micro-kernel reads `depth` steps: those past kc must be zeros
            for (int t = t0; t < t1; t++) {
                java.util.Arrays.fill(ap, base + t * stride + kc * MR, base + t * stride + depth * MR, 0f);
            }
        }
    }

    // The order of a split by columns' items, each block * (groups + tasks) + j, j < groups packing a group of
    // the block's A: block 0's packing first, then each block's products with the next block's packing spread
    // among them, so that one thread packs (stalled on memory) while the other multiplies.
    static int[] schedule(int kBlocks, int groups, int tasks) {
        int per = groups + tasks, n = 0;
        int[] order = new int[kBlocks * per];
        for (int g = 0; g < groups; g++) {
            order[n++] = g;
        }
        for (int b = 0; b < kBlocks; b++) {
            int next = b + 1 < kBlocks ? groups : 0, g = 0;
            for (int t = 0; t < tasks; t++) {
                order[n++] = b * per + groups + t;
                for (int due = Math.min(next, (int) ((long) (t + 2) * next / tasks)); g < due; g++) {
                    order[n++] = (b + 1) * per + g;
                }
            }
            for (; g < next; g++) {
                order[n++] = (b + 1) * per + g;
            }
        }
        return order;
    }

    /** Floats of packed A for rows padded to mPad and all of K: one block of {@link #aBlockFloats} per KC of K. */
    private static int packedASize(int mPad, int K) {
        return aBlockFloats(mPad) * Math.max(1, ceilDiv(K, KC));
    }

    /** Floats of one K block of packed A for mPad rows: mPad / MR tiles at the stride of a block KC deep. */
    private static int aBlockFloats(int mPad) {
        return mPad / MR * aTile(KC);
    }

    /** The distance between tiles of packed A in a K block `depth` steps deep. */
    private static int aTile(int depth) {
        return MR * depth + A_TILE_PAD;
    }

    /** Packs op(B) columns [col, col + count) (count ≤ NR) for K rows [pc, pc + kc) into one panel at base. */
    private static void packPanel(float[] dst, int base, Operand op, int col, int count, int pc, int kc, int depth) {
        float[] f32 = op.f32();
        if (count < NR) {
            // An edge panel (LoRA's r columns, say): clear it once rather than the gap after every run.
            java.util.Arrays.fill(dst, base, base + depth * NR, 0f);
        }
        if (f32 != null && !op.trans() && (count == NR || count == L)) {
            // Runs of one or two vectors along the panel, copied as vectors: a copyRun call per run of
            // 16 values cost five times the copy, which matters for attention's per-head products.
            packVectorRuns(dst, base, f32, op.offset() + pc * op.ld() + col, op.ld(), count, kc);
        } else if (op.trans() && f32 != null && count == NR && Transpose.AVAILABLE) {
            packTransposedPanel(dst, base, f32, op.offset() + col * op.ld() + pc, op.ld(), kc);
        } else if (op.trans()) {
            for (int i = 0; i < count; i++) {
                op.copyRun(op.offset() + (col + i) * op.ld() + pc, dst, base + i, NR, kc);
            }
        } else {
            for (int k = 0; k < kc; k++) {
                op.copyRun(op.offset() + (pc + k) * op.ld() + col, dst, base + k * NR, 1, count);
            }
        }
        if (count == NR) {
            java.util.Arrays.fill(dst, base + kc * NR, base + depth * NR, 0f);
        }
    }

    // The `width` columns (a multiple of NR) of a plain float32 B from column col, K rows [pc, pc + kc), into their
    // full panels of the block at blockBase, row by row: each row of B is read once, contiguously, where packing
    // panel after panel reads a short run of every row per panel. Each row also reads one value of every panel's
    // run TOUCH_AHEAD rows further on, a prefetch that Java cannot otherwise express: a task's runs are a few
    // hundred bytes, rows kilobytes apart, and B comes from memory (512×768×3072 NN and TN 1.03× in-process).
    // Three loops rather than one with branches on k: C2 hoists the loads' range checks out of a loop as one
    // check of its whole range, made on entry, and a branch that skips the loads for the last steps (the padding
    // steps, or the rows ahead that lie past the matrix) made that check fail at the end of a matrix, which sent
    // the call to the interpreter and the method to be compiled again, several times a run.
    private static void packRowsInPlace(MemorySegment dst, int blockBase, Operand op, int col, int width, int pc, int kc, int depth) {
        float[] f32 = op.f32();
        int ld = op.ld(), src = op.offset() + pc * ld + col;
        long d = (long) blockBase * 4;
        int touchEnd = Math.max(0, kc - TOUCH_AHEAD);
        float touched = 0f;
        for (int k = 0; k < touchEnd; k++, src += ld, d += NR_BYTES) {
            for (int p = 0; p < width; p += NR) {
                touched += f32[src + TOUCH_AHEAD * ld + p];
            }
            copyRowIntoPanels(dst, d, depth, f32, src, width);
        }
        for (int k = touchEnd; k < kc; k++, src += ld, d += NR_BYTES) {
            copyRowIntoPanels(dst, d, depth, f32, src, width);
        }
        FloatVector zero = FloatVector.zero(S);
        for (int k = kc; k < depth; k++, d += NR_BYTES) {
            long z = d;
            for (int p = 0; p < width; p += NR, z += depth * NR_BYTES) {
                zero.intoMemorySegment(dst, z, ORDER);
                zero.intoMemorySegment(dst, z + L_BYTES, ORDER);
            }
        }
        BUFFERS.get().touched = touched;   // kept, so that the compiler keeps the loads
    }

    // One row's `width` values from src into the step at d of each of its width / NR panels (depth steps apart).
    private static void copyRowIntoPanels(MemorySegment dst, long d, int depth, float[] src, int s, int width) {
        for (int p = 0; p < width; p += NR, d += depth * NR_BYTES) {
            FloatVector.fromArray(S, src, s + p).intoMemorySegment(dst, d, ORDER);
            FloatVector.fromArray(S, src, s + p + L).intoMemorySegment(dst, d + L_BYTES, ORDER);
        }
    }

    // A full panel of a transposed B (NR stored rows, `ld` apart, read along kc columns), in 8×8 blocks transposed
    // in registers, the last kc mod 8 steps a value at a time. Gathering each step's NR values down the column
    // cost about 10% of a 512×768×3072 NT product, twice what packing a plain B does (NT 1.02-1.055× in-process at
    // the GPT-2 and MiniLM shapes).
    private static void packTransposedPanel(float[] dst, int base, float[] src, int s0, int ld, int kc) {
        int k = 0;
        // Both halves of a source line (16 steps) per block of rows, one after the other: with rows 12 KB apart
        // (K = 3072) all of a panel's rows fall into one L1 set, and the second half was read from L2 again.
        for (; k + 16 <= kc; k += 16) {
            for (int h = 0; h < NR; h += 8) {
                Transpose.block8(src, s0 + h * ld + k, ld, dst, base + k * NR + h, NR);
                Transpose.block8(src, s0 + h * ld + k + 8, ld, dst, base + (k + 8) * NR + h, NR);
            }
        }
        for (; k + 8 <= kc; k += 8) {
            for (int h = 0; h < NR; h += 8) {
                Transpose.block8(src, s0 + h * ld + k, ld, dst, base + k * NR + h, NR);
            }
        }
        for (; k < kc; k++) {
            for (int i = 0; i < NR; i++) {
                dst[base + k * NR + i] = src[s0 + i * ld + k];
            }
        }
    }

    // kc runs of `count` (L or 2L) floats, `ld` apart in src, into consecutive B panel steps.
    private static void packVectorRuns(float[] dst, int base, float[] src, int s0, int ld, int count, int kc) {
        for (int k = 0; k < kc; k++) {
            int s = s0 + k * ld;
            int d = base + k * NR;
            FloatVector.fromArray(S, src, s).intoArray(dst, d);
            if (count == 2 * L) {
                FloatVector.fromArray(S, src, s + L).intoArray(dst, d + L);
            }
        }
    }

    private static void scaleC(int M, int N, float beta, float[] C, int offC, int ldc) {
        if (beta == 1f) {
            return;
        }
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

    /**
     * Rows per block when a split by columns runs all of A's mPad rows against its own B panels: as few blocks
     * of about equal size as keep a block within {@link #A_BLOCK_FLOATS}, never fewer rows than MC. A task's
     * B panels do not fit in cache (GPT-2's LM head holds 19 MB of them per task), so each block of rows reads
     * them all from memory again; fewer blocks read them less often, at the cost of A coming from L3 rather
     * than L2 (512×50257×768 NT, B packed once: 1.05-1.10× against blocks of MC rows; 4096 rows in 6 MB
     * blocks were 0.83×, hence the cap).
     */
    static int rowBlock(int mPad, int K) {
        int cap = Math.max(MC, (int) (A_BLOCK_FLOATS / Math.max(1, Math.min(K, KC))) / MR * MR);
        int blocks = ceilDiv(mPad, cap);
        return ceilDiv(ceilDiv(mPad, blocks), MR) * MR;
    }

    // The pieces of C that a split by columns' items compute, four ints each (columns n0, n1, rows m0, m1): about
    // `tasks` ranges of columns, made smaller at the end, so that the thread that finishes first waits for the
    // other about half a range rather than a whole one (a gap of 5-9% of a call at GPT-2's shapes). Wide ranges
    // end in 2·threads ranges half as wide (512×2304×768 1.03-1.055× in-process, and 1.005-1.03× against halving
    // by rows); narrower ones in `threads` ranges cut in two by rows, each half packing the range's B for
    // itself (512×768×768 1.01-1.07×, 512×768×3072 1.01×), where ranges half as wide gained nothing (0.99-1.01×):
    // a narrow range reads short runs of B and all of A once more.
    static int[] pieces(int units, int tasks, int threads, int mUnits, int N, int M) {
        boolean parallel = threads > 1 && tasks >= 2 * threads;
        boolean narrower = parallel && units >= 2 * tasks * MIN_HALF_RANGE;
        int cut = parallel && !narrower && mUnits >= 2 * MIN_HALF_TILES ? threads : 0;
        int ranges = narrower ? tasks + threads : tasks;
        int half = Math.min(M, ceilDiv(mUnits, 2) * MR);
        int[] pieces = new int[4 * (ranges + cut)];
        int p = 0;
        for (int r = 0; r < ranges; r++) {
            int n0 = narrower ? taperedStart(units, r, tasks, threads, NR, N) : partStart(units, r, tasks, NR, N);
            int n1 = narrower ? taperedStart(units, r + 1, tasks, threads, NR, N) : partStart(units, r + 1, tasks, NR, N);
            int[] rows = r >= ranges - cut ? new int[] {0, half, M} : new int[] {0, M};
            for (int h = 0; h + 1 < rows.length; h++, p++) {
                pieces[4 * p] = n0;
                pieces[4 * p + 1] = n1;
                pieces[4 * p + 2] = rows[h];
                pieces[4 * p + 3] = rows[h + 1];
            }
        }
        return pieces;
    }

    // Where part p starts when `units` units are shared out over tasks + threads parts, the first tasks - threads
    // of them twice as large as the last 2·threads.
    static int taperedStart(int units, int p, int tasks, int threads, int unit, int limit) {
        return partStart(units, Math.min(2 * p, p + tasks - threads), 2 * tasks, unit, limit);
    }

    // Where part p of `parts` starts when `units` units of `unit` elements (the last one ending at limit) are
    // shared out as evenly as whole units allow; part `parts` starts at limit.
    static int partStart(int units, int p, int parts, int unit, int limit) {
        return Math.min(limit, (int) ((long) units * p / parts) * unit);
    }

    // Spins until counts[i] reaches target: another thread is finishing an item taken before this one. After a
    // few microseconds it yields instead, in case that thread is waiting for a core (more pool threads than cores).
    private static void awaitCount(AtomicIntegerArray counts, int i, int target) {
        for (int spins = 0; counts.get(i) < target; spins++) {
            if (spins < 4096) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    /** kc rounded up to a multiple of STEPS: the depth of a packed block. */
    private static int depth(int kc) {
        return (kc + STEPS - 1) & -STEPS;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
