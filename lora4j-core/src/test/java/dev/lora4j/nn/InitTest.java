package dev.lora4j.nn;

import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InitTest {
    @Test
    void skippingLeavesZerosOnlyInsideAndIsRestoredAfterAnException() {
        Linear skipped = Init.skipping(() -> new Linear(8, 4, true, 1));
        assertTrue(java.util.Arrays.equals(new float[32], skipped.weight().value().toFloatArray()));
        Linear drawn = new Linear(8, 4, true, 1);
        assertTrue(drawn.weight().value().toFloatArray()[0] != 0f, "initialised again outside skipping");
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> Init.skipping(() -> {
            throw new IllegalStateException("boom");
        }));
        Tensor t = Init.normal(Tensor.zeros(4), 0f, 1f, new Random(3));
        assertTrue(t.toFloatArray()[0] != 0f, "the flag is cleared after an exception");
    }

    @Test
    void kaimingUniformWithSqrt5IsTorchLinearDefault() {
        // bound = √(6 / ((1 + 5)·fan_in)) = 1/√fan_in; U(−b, b) has variance b²/3.
        Tensor t = Init.kaimingUniform(Tensor.zeros(200_000), Math.sqrt(5), 64, new Random(1));
        double bound = 1.0 / 8.0;
        double sum = 0;
        double sumSq = 0;
        for (float v : t.toFloatArray()) {
            assertTrue(Math.abs(v) <= bound);
            sum += v;
            sumSq += v * v;
        }
        int n = t.numel();
        assertEquals(0.0, sum / n, 1e-3);
        assertEquals(bound * bound / 3, sumSq / n, 2e-4);
    }

    @Test
    void normalHasTheRequestedMoments() {
        Tensor t = Init.normal(Tensor.zeros(200_000), 0.5f, 0.25f, new Random(2));
        double sum = 0;
        double sumSq = 0;
        for (float v : t.toFloatArray()) {
            sum += v;
            sumSq += v * v;
        }
        int n = t.numel();
        double mean = sum / n;
        assertEquals(0.5, mean, 2e-3);
        assertEquals(0.0625, sumSq / n - mean * mean, 1e-3);
    }
}
