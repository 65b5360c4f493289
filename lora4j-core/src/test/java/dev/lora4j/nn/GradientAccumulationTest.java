package dev.lora4j.nn;

import dev.lora4j.kernels.Gelu;
import dev.lora4j.testing.GradCheck;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.lora4j.testing.TensorAssert.assertClose;

/**
 * Backward passes add into gradients, so two micro-batches with the loss scaled by 1/2 must leave exactly the
 * gradient of one full batch: the property gradient accumulation relies on.
 */
class GradientAccumulationTest {
    private static Sequential model() {
        return new Sequential(new Linear(6, 12, true, 1), new GeluActivation(Gelu.Kind.ERF), new Linear(12, 4, true, 2));
    }

    @Test
    void twoHalfBatchesEqualOneFullBatch() {
        Tensor x = GradCheck.random(5, 8, 6);
        int[] y = {0, 3, 1, 2, 2, 0, 1, 3};
        CrossEntropyLoss loss = new CrossEntropyLoss(0.1f, -100);

        Sequential full = model();
        loss.forward(full.forward(x), y, null);
        full.backward(loss.backward(1f));

        Sequential accumulated = model();
        for (int half = 0; half < 2; half++) {
            Tensor part = x.narrow(0, 4 * half, 4).contiguous();
            int[] labels = java.util.Arrays.copyOfRange(y, 4 * half, 4 * half + 4);
            loss.forward(accumulated.forward(part), labels, null);
            accumulated.backward(loss.backward(0.5f));
        }
        List<Parameter> a = full.trainableParameters();
        List<Parameter> b = accumulated.trainableParameters();
        for (int i = 0; i < a.size(); i++) {
            assertClose(a.get(i).grad(), b.get(i).grad(), 1e-6f, 1e-5f);
        }
    }
}
