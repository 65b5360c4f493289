package dev.lora4j.nn;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.testing.Fixtures;
import dev.lora4j.testing.GradCheck;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CrossEntropyLossTest {
    private final SafeTensors.Contents f = Fixtures.load("nn/cross_entropy");
    private final float smoothing = Float.parseFloat(f.metadata().get("label_smoothing"));

    @Test
    void smoothedLossWithIgnoreIndexMatchesTorch() {
        CrossEntropyLoss loss = new CrossEntropyLoss(smoothing, -100);
        float value = loss.forward(f.tensor("logits"), f.ints("targets"), null);
        assertEquals(f.tensor("loss").item(), value, 1e-6f);
        assertClose(f.tensor("dlogits"), loss.backward(1f), 1e-7f, 1e-5f);
    }

    @Test
    void weightedLossMatchesTorchReduction() {
        CrossEntropyLoss loss = new CrossEntropyLoss(smoothing, -100);
        float value = loss.forward(f.tensor("logits"), f.ints("targets"), f.tensor("weights").toFloatArray());
        assertEquals(f.tensor("weighted_loss").item(), value, 1e-6f);
        assertClose(f.tensor("weighted_dlogits"), loss.backward(1f), 1e-7f, 1e-5f);
    }

    @Test
    void gradientMatchesFiniteDifferences() {
        Tensor logits = GradCheck.random(4, 5, 9);
        int[] targets = {1, 8, -100, 0, 4};
        CrossEntropyLoss loss = new CrossEntropyLoss(0.2f, -100);
        loss.forward(logits, targets, null);
        float[] analytic = loss.backward(1f).toFloatArray();
        for (int i = 0; i < logits.numel(); i++) {
            double numeric = GradCheck.central(() -> loss.forward(logits, targets, null), logits.data(), i);
            assertEquals(numeric, analytic[i], 2e-4, "dlogits[" + i + "]");
        }
    }

    @Test
    void inPlaceGradientOverwritesTheLogitsWithTorchsGradient() {
        CrossEntropyLoss loss = new CrossEntropyLoss(smoothing, -100);
        Tensor logits = f.tensor("logits").contiguous().toF32();
        Tensor own = Tensor.zeros(logits.shape().toArray()).copyFrom(logits);
        loss.forward(own, f.ints("targets"), f.tensor("weights").toFloatArray());
        Tensor d = loss.backwardInPlace(1f);
        assertTrue(d.data() == own.data(), "the gradient is written over the logits");
        assertClose(f.tensor("weighted_dlogits"), d, 1e-7f, 1e-5f);

        int rows = logits.dim(0), V = logits.dim(1);          // logits seen through a view from an offset
        Tensor padded = Tensor.zeros(rows + 1, V);
        padded.narrow(0, 1, rows).copyFrom(logits);
        loss.forward(padded.narrow(0, 1, rows), f.ints("targets"), f.tensor("weights").toFloatArray());
        assertClose(f.tensor("weighted_dlogits"), loss.backwardInPlace(1f), 1e-7f, 1e-5f);
    }

    @Test
    void allIgnoredGivesZeroLossAndGradient() {
        CrossEntropyLoss loss = new CrossEntropyLoss();
        assertEquals(0f, loss.forward(GradCheck.random(1, 2, 3), new int[] {-100, -100}, null));
        assertClose(new float[6], loss.backward(1f).toFloatArray(), 0f, 0f);
    }

    @Test
    void rejectsTargetOutOfRange() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new CrossEntropyLoss().forward(Tensor.zeros(2, 3), new int[] {0, 3}, null));
        assertEquals("cross_entropy: target 3 at row 1 is outside [0, 3) and is not the ignore index -100", e.getMessage());
    }
}
