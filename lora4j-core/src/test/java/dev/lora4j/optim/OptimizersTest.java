package dev.lora4j.optim;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.Fixtures;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Function;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** AdamW, SGD and gradient clipping against torch.optim and torch.nn.utils over several steps. */
class OptimizersTest {
    private final SafeTensors.Contents f = Fixtures.load("optim/optimizers");

    private void checkSteps(Function<List<Parameter>, Optimizer> make, String expectedName) {
        Parameter p = new Parameter(f.tensor("init").copy());
        Optimizer opt = make.apply(List.of(p));
        Tensor grads = f.tensor("grads");
        float[] lrs = f.tensor("lrs").toFloatArray();
        Tensor expected = f.tensor(expectedName);
        for (int s = 0; s < lrs.length; s++) {
            p.grad().copyFrom(grads.narrow(0, s, 1).view(10));
            opt.step(lrs[s]);
            assertClose(expected.narrow(0, s, 1).contiguous().view(10), p.value(), 1e-6f, 1e-5f);
        }
    }

    @Test
    void adamWMatchesTorchOverSixSteps() {
        checkSteps(ps -> new AdamW(ps, 0.9f, 0.999f, 1e-8f, 0.01f), "adamw");
    }

    @Test
    void sgdWithNesterovMomentumMatchesTorch() {
        checkSteps(ps -> new Sgd(ps, 0.9f, 0.01f, true), "sgd_nesterov");
    }

    @Test
    void clipByGlobalNormMatchesTorch() {
        Parameter p = new Parameter(f.tensor("init").copy());
        p.grad().copyFrom(f.tensor("grads").narrow(0, 0, 1).view(10)).scaleInPlace(10f);
        float norm = GradClip.byGlobalNorm(List.of(p), 1f);
        assertEquals(f.tensor("clip_norm").item(), norm, 1e-5f);
        assertClose(f.tensor("clip_grad"), p.grad(), 1e-7f, 1e-5f);
    }

    @Test
    void frozenParametersAreNotUpdated() {
        Parameter p = new Parameter(Tensor.zeros(3).fill(1f));
        p.grad().fill(1f);
        p.setRequiresGrad(false);
        new AdamW(List.of(p)).step(0.1f);
        assertClose(new float[] {1, 1, 1}, p.value().toFloatArray(), 0f, 0f);
    }

    @Test
    void rejectsInvalidHyperParameters() {
        var e = assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(), 1.0f, 0.999f, 1e-8f, 0f));
        assertEquals("AdamW: betas must be in [0, 1), got (1.0, 0.999)", e.getMessage());
    }
}
