package dev.lora4j.nn;

import dev.lora4j.testing.GradCheck;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class EmbeddingGradCheckTest {
    @Test
    void weightGradientMatchesFiniteDifferences() {
        Embedding emb = new Embedding(7, 5, 3);
        int[] ids = {2, 6, 2, 0, 5, 2};
        Tensor r = GradCheck.random(9, 6, 5);
        emb.forward(ids, 6);
        emb.backward(r);
        float[] analytic = emb.weight().grad().toFloatArray();
        float[] w = emb.weight().value().data();
        for (int i = 0; i < w.length; i++) {
            double numeric = GradCheck.central(() -> GradCheck.loss(emb.forward(ids, 6), r), w, i);
            assertEquals(numeric, analytic[i], 1e-3, "dweight[" + i + "]");
        }
    }
}
