package dev.lora4j.nn;

import dev.lora4j.testing.GradCheck;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TanhTest {
    @Test
    void valuesAreTanhAndBackwardMatchesFiniteDifferences() {
        Tensor x = Tensor.of(new float[] {-2f, 0f, 0.5f}, 3);
        float[] y = new Tanh().forward(x).toFloatArray();
        for (int i = 0; i < 3; i++) {
            assertEquals((float) Math.tanh(x.get(i)), y[i]);
        }
        GradCheck.assertModule(new Tanh(), 3, 4, 5);
    }
}
