package dev.lora4j.kernels;

import dev.lora4j.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The packed, parallel GEMM against its scalar twin, over every form and awkward sizes. */
class GemmTest {
    private static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextFloat() * 2 - 1;
        }
        return a;
    }

    @Test
    void theTwoBlockCasesSpanTwoKBlocks() {
        // The K = 1603 cases below cover a second K block and a last block that is not a whole group of steps, the
        // K = 5000 ones four K blocks and the K = 9403 ones seven, more than packed A has slots for.
        assertTrue(Gemm.KC < 1603 && 1603 < 2 * Gemm.KC && (1603 - Gemm.KC) % 4 != 0, "KC = " + Gemm.KC);
        assertEquals(4, (5000 + Gemm.KC - 1) / Gemm.KC, "K blocks at K = 5000");
        assertEquals(7, (9403 + Gemm.KC - 1) / Gemm.KC, "K blocks at K = 9403");
    }

    @Test
    void theSevenHundredRowCasesSplitAIntoBlocksOfRows() {
        int block = Gemm.rowBlock(702, 1603);
        assertTrue(block < 702 && block % Gemm.MR == 0 && 700 % block != 0, "rows per block: " + block);
        assertEquals(516, Gemm.rowBlock(516, 768), "GPT-2's 512 rows are one block");
    }

    @ParameterizedTest(name = "{0} units, {1} tasks on {2} threads")
    @CsvSource({"342, 16, 2", "144, 8, 2", "1000, 12, 4"})
    void taperedPartsCoverTheUnitsAndEndHalfAsLarge(int units, int tasks, int threads) {
        int limit = units * Gemm.MR - 5;   // the last unit is short
        int parts = tasks + threads;
        assertEquals(0, Gemm.taperedStart(units, 0, tasks, threads, Gemm.MR, limit));
        assertEquals(limit, Gemm.taperedStart(units, parts, tasks, threads, Gemm.MR, limit));
        int first = Gemm.taperedStart(units, 1, tasks, threads, Gemm.MR, limit);
        for (int p = 0; p < parts; p++) {
            int size = Gemm.taperedStart(units, p + 1, tasks, threads, Gemm.MR, limit) - Gemm.taperedStart(units, p, tasks, threads, Gemm.MR, limit);
            int expected = p < tasks - threads ? first : first / 2;
            assertTrue(Math.abs(size - expected) <= Gemm.MR, "part " + p + ": " + size + " rows, expected about " + expected);
        }
    }

    @ParameterizedTest(name = "{0}×{1}, {2} tasks on {3} threads")
    @CsvSource({"512, 2304, 8, 2, 10, false", "512, 768, 8, 2, 10, true", "512, 50257, 73, 2, 75, false",
            "40, 768, 8, 2, 8, false", "100, 100, 1, 1, 1, false", "700, 3000, 8, 4, 12, false"})
    void piecesCoverCOnceAndEndSmaller(int M, int N, int tasks, int threads, int expectedPieces, boolean byRows) {
        int units = (N + Gemm.NR - 1) / Gemm.NR, mUnits = (M + Gemm.MR - 1) / Gemm.MR;
        int[] p = Gemm.pieces(units, tasks, threads, mUnits, N, M);
        assertEquals(4 * expectedPieces, p.length);
        int[][] covered = new int[mUnits][units];
        for (int i = 0; i < expectedPieces; i++) {
            int n0 = p[4 * i], n1 = p[4 * i + 1], m0 = p[4 * i + 2], m1 = p[4 * i + 3];
            assertTrue(n0 < n1 && m0 < m1, "piece " + i + " is not empty");
            assertEquals(0, n0 % Gemm.NR, "piece " + i + " starts on a panel");
            assertEquals(0, m0 % Gemm.MR, "piece " + i + " starts on a tile");
            assertTrue(n1 == N || n1 % Gemm.NR == 0, "piece " + i + " ends on a panel");
            for (int m = m0 / Gemm.MR; m < (m1 + Gemm.MR - 1) / Gemm.MR; m++) {
                for (int n = n0 / Gemm.NR; n < (n1 + Gemm.NR - 1) / Gemm.NR; n++) {
                    covered[m][n]++;
                }
            }
        }
        for (int[] row : covered) {
            for (int c : row) {
                assertEquals(1, c, "every tile of C in exactly one piece");
            }
        }
        if (expectedPieces > tasks) {   // the last pieces half the size of the first, cut by rows or by columns
            int last = 4 * (expectedPieces - 1);
            long first = (long) (p[1] - p[0]) * (p[3] - p[2]), end = (long) (p[last + 1] - p[last]) * (p[last + 3] - p[last + 2]);
            assertTrue(Math.abs(2 * end - first) <= first / 4, "first " + first + " cells, last " + end);
            assertEquals(byRows, p[last + 2] > 0, "the last piece is a half by rows");
        }
    }

    @ParameterizedTest(name = "{0} K blocks, {1} packing groups, {2} tasks")
    @CsvSource({"1, 4, 8", "2, 4, 8", "7, 4, 8", "3, 1, 1", "5, 4, 3", "66, 4, 64"})
    void scheduleTakesEveryItemOnceAndPacksABlockBeforeItsProducts(int kBlocks, int groups, int tasks) {
        int per = groups + tasks;
        int[] order = Gemm.schedule(kBlocks, groups, tasks);
        assertEquals(kBlocks * per, order.length);
        int[] position = new int[order.length];
        java.util.Arrays.fill(position, -1);
        for (int i = 0; i < order.length; i++) {
            assertEquals(-1, position[order[i]], "item " + order[i] + " taken twice");
            position[order[i]] = i;
        }
        for (int b = 0; b < kBlocks; b++) {
            int lastPack = 0, firstProduct = Integer.MAX_VALUE;
            for (int g = 0; g < groups; g++) {
                lastPack = Math.max(lastPack, position[b * per + g]);
            }
            for (int t = 0; t < tasks; t++) {
                firstProduct = Math.min(firstProduct, position[b * per + groups + t]);
                if (b > 0) {   // a range's blocks in order: each adds into C after the one before
                    assertTrue(position[(b - 1) * per + groups + t] < position[b * per + groups + t]);
                }
            }
            assertTrue(lastPack < firstProduct, "block " + b + " is packed before its products");
            if (b + 1 < kBlocks) {   // the next block's packing comes during this block's products, not after
                assertTrue(position[(b + 1) * per + groups - 1] < position[b * per + per - 1] || tasks < 2,
                        "block " + (b + 1) + " packed among block " + b + "'s products");
                for (int t = 0; t < tasks && b > 0; t++) {   // and never before the products of the block before,
                    for (int g = 0; g < groups; g++) {        // whose packed A it may overwrite (two slots)
                        assertTrue(position[(b - 1) * per + groups + t] < position[(b + 1) * per + g]);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}{1} M={2} N={3} K={4} alpha={5} beta={6}")
    @CsvSource({
            "false, false, 1, 1, 1, 1, 0",
            "false, true, 7, 5, 3, 1, 0",
            "true, false, 13, 17, 19, 1, 1",
            "true, true, 6, 16, 4, 0.5, 0.25",
            "false, false, 97, 161, 1603, 1, 1",     // K spans two KC blocks, the last not a whole group of steps; edges in M and N
            "false, true, 200, 64, 513, 2, 0",      // large enough to run on several threads
            "true, false, 64, 200, 257, 1, 1",
            "true, true, 33, 47, 129, -1, 0.5",
            "false, true, 64, 64, 32, 0.17677669, 0",   // attention's q·kᵀ·scale for one 32-wide head
            "false, false, 400, 16, 20, 1, 0.5",    // split by rows, one task: A packed in three chunks of rows
            "false, false, 40, 1603, 300, 1, 0.5",  // split by columns with the last ranges half as wide
            "true, true, 40, 1603, 300, 1, 0",
            "false, true, 1603, 40, 64, 1, 0.5",    // split by rows with the last row ranges half as tall
            "false, false, 100, 300, 300, 1, 0.5",  // split by columns with the last ranges cut in two by rows,
            "true, false, 99, 301, 1603, 1, 0",     // the lower half ending in an edge tile; two K blocks
            "false, false, 7, 32, 9, 1, 0",         // one whole tile and an edge tile of one row, β = 0
            "true, false, 300, 8, 517, 1.5, 0.5",   // a gradient with r = 8 columns: computed as Cᵀ = Bᵀ·A
            "true, false, 150, 5, 64, 1, 0",        // the same with columns that are not a whole vector
            "false, true, 300, 8, 517, 1.5, 0.5",   // few columns (LoRA's x·Aᵀ, N = r) as dot products along K,
            "false, false, 150, 5, 64, 1, 0",       // with op(B) stored by rows, N not a multiple of four,
            "false, true, 3000, 16, 40, 1, 0",      // and on several threads
            "false, false, 700, 61, 1603, 1, 0",    // split by rows on several threads: the shared B packed by all of
            "false, true, 650, 45, 1603, 1, 1",     // them, plain and transposed, an edge panel and two K blocks
            "false, false, 700, 703, 1603, 1, 0",   // split by columns with A in blocks of rows (see below), the
            "true, true, 700, 703, 1603, 0.5, 1",   // last ending in an edge tile; two K blocks
            "false, true, 90, 200, 5000, 1, 0.5",   // split by columns, four K blocks (the last partial), taken
            "true, false, 90, 200, 5000, 1, 0",     // K block by K block, each range's blocks in order
            "false, false, 60, 200, 9403, 1, 0.5",  // seven K blocks, more than packed A has slots for: a block's
            "true, false, 60, 200, 9403, 2, 0",     // packing waits for the products that read its slot before
    })
    void matchesScalarTwin(boolean transA, boolean transB, int M, int N, int K, float alpha, float beta) {
        Random r = new Random(M * 31L + N * 7L + K);
        int lda = (transA ? M : K) + 3;       // leading dimensions wider than the matrix, and offsets
        int ldb = (transB ? K : N) + 1;
        int ldc = N + 2;
        float[] A = random(r, 5 + (transA ? K : M) * lda);
        float[] B = random(r, 2 + (transB ? N : K) * ldb);
        float[] C = random(r, 4 + M * ldc);
        float[] expected = C.clone();
        Gemm.gemmScalar(M, N, K, alpha, Gemm.f32(A, 5, lda, transA), Gemm.f32(B, 2, ldb, transB), beta, expected, 4, ldc);
        Gemm.sgemm(transA, transB, M, N, K, alpha, A, 5, lda, B, 2, ldb, beta, C, 4, ldc);
        // A float32 sum of K terms drifts from the double reference like √K (3.4e-4 at K = 9403); a lost or
        // repeated K block would be off by the block's own sum, about √KC / 3 ≈ 13.
        float tolerance = (float) (1e-4 * Math.max(1, Math.sqrt(K / 250.0)));
        assertClose(expected, C, tolerance, tolerance);
    }

    @ParameterizedTest(name = "{0}{1} M={2} N={3} K={4} frozen={5}")
    @CsvSource({
            "false, true, 7, 5, 3, false",
            "false, true, 97, 161, 1603, true",     // edges in M and N, two K blocks, B packed once
            "false, true, 200, 64, 513, false",     // several threads, split by rows
            "false, false, 64, 200, 257, true",     // split by columns: each task starts from its own slice of the bias
            "true, false, 13, 17, 0, false",        // K = 0: every row is the bias
            "false, true, 400, 16, 20, true",       // split by rows, A packed in chunks: each starts from the bias
    })
    void biasStartsEveryRow(boolean transA, boolean transB, int M, int N, int K, boolean frozen) {
        Random r = new Random(M * 13L + N + K);
        int lda = transA ? M : K, ldb = transB ? K : N, ldc = N + 3;
        float[] A = random(r, Math.max(1, (transA ? K : M) * lda));
        float[] B = random(r, Math.max(1, (transB ? N : K) * ldb));
        float[] bias = random(r, N + 2);
        float[] C = random(r, 1 + M * ldc);    // whatever C held before is overwritten
        float[] expected = C.clone();
        Gemm.gemmScalar(M, N, K, 0.5f, Gemm.f32(A, 0, lda, transA), Gemm.f32(B, 0, ldb, transB), 0f, expected, 1, ldc);
        for (int m = 0; m < M; m++) {
            for (int n = 0; n < N; n++) {
                expected[1 + m * ldc + n] += bias[2 + n];
            }
        }
        Gemm.gemmBias(M, N, K, 0.5f, Gemm.f32(A, 0, lda, transA), Gemm.f32(B, 0, ldb, transB), bias, 2, C, 1, ldc, frozen);
        assertClose(expected, C, 1e-4f, 1e-4f);
    }

    @ParameterizedTest
    @CsvSource({"BF16, false", "BF16, true", "F16, false", "F16, true"})
    void halfPrecisionOperandIsWidenedExactly(DType dtype, boolean transB) {
        Random r = new Random(3);
        int M = 37, N = 29, K = 70;
        float[] A = random(r, M * K);
        float[] Bf = random(r, K * N);
        short[] Bh = new short[Bf.length];
        float[] Bwidened = new float[Bf.length];
        for (int i = 0; i < Bf.length; i++) {
            Bh[i] = dtype.floatToHalf(Bf[i]);
            Bwidened[i] = dtype.halfToFloat(Bh[i]);
        }
        int ldb = transB ? K : N;
        float[] expected = new float[M * N];
        float[] actual = new float[M * N];
        Gemm.gemmScalar(M, N, K, 1f, Gemm.f32(A, 0, K, false), Gemm.f32(Bwidened, 0, ldb, transB), 0f, expected, 0, N);
        Gemm.gemm(M, N, K, 1f, Gemm.f32(A, 0, K, false), Gemm.half(Bh, dtype, 0, ldb, transB), 0f, actual, 0, N);
        assertClose(expected, actual, 1e-4f, 1e-4f);
    }

    @Test
    void betaZeroOverwritesNaNInOutput() {
        float[] C = {Float.NaN, Float.NaN};
        Gemm.sgemm(false, false, 1, 2, 1, 1f, new float[] {2}, 0, 1, new float[] {3, 4}, 0, 2, 0f, C, 0, 2);
        assertClose(new float[] {6, 8}, C, 0f, 0f);
    }

    @Test
    void rejectsOperandThatDoesNotFit() {
        var e = assertThrows(IllegalArgumentException.class, () ->
                Gemm.sgemm(false, false, 2, 2, 3, 1f, new float[5], 0, 3, new float[6], 0, 2, 0f, new float[4], 0, 2));
        assertEquals("gemm: A (2 x 3 stored, offset 0, ld 3) does not fit an array of 5", e.getMessage());
    }
}
