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
}
