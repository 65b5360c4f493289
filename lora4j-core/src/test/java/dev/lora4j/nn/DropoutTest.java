package dev.lora4j.nn;

import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DropoutTest {
    @Test
    void dropsAboutPAndScalesTheRest() {
        Dropout d = new Dropout(0.25f, 42);
        Tensor x = Tensor.zeros(100_000).fill(1f);
        float[] y = d.forward(x).toFloatArray();
        int zeros = 0;
        for (float v : y) {
            if (v == 0f) {
                zeros++;
            } else {
                assertEquals(1f / 0.75f, v, 1e-6f);
            }
        }
        // Binomial(100000, 0.25): standard deviation ≈ 137, so ±1000 is beyond seven sigma.
        assertTrue(Math.abs(zeros - 25_000) < 1000, "zeros: " + zeros);
    }

    @Test
    void backwardUsesTheForwardMask() {
        Dropout d = new Dropout(0.5f, 7);
        Tensor x = Tensor.zeros(64).fill(1f);
        float[] y = d.forward(x).toFloatArray();
        Tensor dout = Tensor.zeros(64).fill(3f);
        float[] dx = d.backward(dout).toFloatArray();
        for (int i = 0; i < 64; i++) {
            assertEquals(3f * y[i], dx[i], 1e-6f);
        }
    }

    @Test
    void sameSeedSameMaskAndEvalIsIdentity() {
        Tensor x = Tensor.zeros(256).fill(1f);
        assertArrayEquals(new Dropout(0.3f, 5).forward(x).toFloatArray(), new Dropout(0.3f, 5).forward(x).toFloatArray());
        Dropout d = new Dropout(0.3f, 5);
        d.eval();
        assertSame(x, d.forward(x));
    }
}
