package dev.lora4j.kernels;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The vectorized helpers against plain loops, at lengths that leave tails after the vector part. */
class VectorOpsTest {
    @Test
    void matchScalarLoops() {
        Random r = new Random(4);
        for (int n : new int[] {0, 1, 7, 8, 17, 100}) {
            float[] x = new float[n + 3];
            float[] y = new float[n + 5];
            for (int i = 0; i < x.length; i++) {
                x[i] = r.nextFloat() - 0.5f;
            }
            for (int i = 0; i < y.length; i++) {
                y[i] = r.nextFloat() - 0.5f;
            }
            double dot = 0;
            for (int i = 0; i < n; i++) {
                dot += (double) x[3 + i] * y[5 + i];
            }
            assertEquals(dot, VectorOps.dot(x, 3, y, 5, n), 1e-5);
            float[] expected = y.clone();
            for (int i = 0; i < n; i++) {
                expected[5 + i] += 0.75f * x[3 + i];
            }
            VectorOps.axpy(y, 5, x, 3, 0.75f, n);
            for (int i = 0; i < y.length; i++) {
                assertEquals(expected[i], y[i], 1e-6f);
            }
        }
    }

    @Test
    void parallelProductMatchesScalarLoopAcrossChunks() {
        int n = 3 * 16_384 + 11;    // several of the pool's chunks and a tail
        Random r = new Random(5);
        float[] x = new float[n + 2], y = new float[n + 4], out = new float[n + 1];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextFloat() - 0.5f;
        }
        for (int i = 0; i < y.length; i++) {
            y[i] = r.nextFloat() - 0.5f;
        }
        VectorOps.multiplyParallel(out, 1, x, 2, y, 4, n);
        assertEquals(0f, out[0]);
        for (int i = 0; i < n; i++) {
            assertEquals(x[2 + i] * y[4 + i], out[1 + i], 0f, "element " + i);
        }
    }

    @Test
    void scaleIntoMatchesScalarLoop() {
        Random r = new Random(6);
        for (int n : new int[] {0, 5, 8, 19}) {
            float[] x = new float[n + 2], out = new float[n + 3];
            for (int i = 0; i < x.length; i++) {
                x[i] = r.nextFloat() - 0.5f;
            }
            VectorOps.scaleInto(out, 3, x, 2, -1.5f, n);
            for (int i = 0; i < n; i++) {
                assertEquals(-1.5f * x[2 + i], out[3 + i], 0f);
            }
        }
    }
}
