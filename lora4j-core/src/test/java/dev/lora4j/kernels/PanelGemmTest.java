package dev.lora4j.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Products against B packed in panels, packed by rows and by columns, with A read along its rows and down its
 * columns, against Gemm's scalar twin; edge tiles in every direction.
 */
class PanelGemmTest {
    @ParameterizedTest(name = "m={0} n={1} k={2} from row {3} of {4}, A transposed={5}, B packed by columns={6}")
    @CsvSource({
            "64, 64, 32, 0, 32, false, true",     // attention's q·kᵀ for a 32-wide head
            "64, 32, 64, 0, 64, false, false",    // att·v
            "64, 32, 64, 0, 64, true, false",     // attᵀ·dout
            "32, 64, 96, 32, 128, true, false",   // a causal part: keys from row 32 of 128
            "7, 5, 3, 0, 3, false, false",        // one full tile and an overlapping one, an edge panel
            "5, 17, 9, 2, 11, true, true",        // fewer rows than a tile, one whole panel and one column
            "1, 40, 13, 0, 13, false, true",      // a single query row, as decoding
            "13, 16, 1, 0, 1, false, false",
    })
    void matchesScalarTwin(int m, int n, int k, int k0, int depth, boolean transA, boolean byColumns) {
        Random r = new Random(m * 1000 + n * 10 + k);
        // A with a wider row stride than it needs, and an offset; B with its own stride and offset
        int lda = (transA ? m : k) + 3, ldb = (byColumns ? depth : n) + 2, ldc = n + 5;
        float[] a = random(r, 4 + (transA ? k : m) * lda), b = random(r, 1 + (byColumns ? n : depth) * ldb);
        float scale = 0.75f;
        float[] panels = new float[3 + PanelGemm.size(depth, n)];
        java.util.Arrays.fill(panels, Float.NaN);   // every value the products read must be written
        if (byColumns) {
            PanelGemm.clearColumns(panels, 3, depth, n);
            for (int j = 0; j < n; j++) {
                PanelGemm.putColumn(b, 1 + j * ldb, depth, scale, panels, 3, depth, j);
            }
        } else {
            for (int row = 0; row < depth; row++) {
                PanelGemm.putRow(b, 1 + row * ldb, n, scale, panels, 3, depth, row);
            }
        }
        float[] c = new float[2 + m * ldc], expected = new float[c.length];
        java.util.Arrays.fill(c, -7f);
        expected[0] = expected[1] = -7f;
        PanelGemm.multiply(m, n, k, a, 4, transA ? 1 : lda, transA ? lda : 1, panels, 3 + k0 * PanelGemm.NR, depth,
                c, 2, ldc);
        // B as stored: rows k0… of op(B) (B itself, or the transpose of what was packed by columns)
        Gemm.Operand bOp = byColumns ? Gemm.f32(b, 1 + k0, ldb, true) : Gemm.f32(b, 1 + k0 * ldb, ldb, false);
        Gemm.gemmScalar(m, n, k, scale, Gemm.f32(a, 4, lda, transA), bOp, 0f, expected, 2, ldc);
        for (int i = 0; i < m; i++) {
            for (int j = n; j < ldc && 2 + i * ldc + j < c.length; j++) {
                assertEquals(-7f, c[2 + i * ldc + j], "C outside the product was written at row " + i + ", column " + j);
                expected[2 + i * ldc + j] = -7f;
            }
        }
        assertClose(expected, c, 1e-5f, 1e-5f);
    }

    private static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = r.nextFloat() * 2 - 1;
        }
        return x;
    }
}
