package dev.lora4j.nn;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.testing.Fixtures;
import dev.lora4j.testing.GradCheck;
import dev.lora4j.tensor.DType;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LinearTest {

    /** Loads a dense fixture into a layer, runs forward and backward, and compares everything with torch. */
    static void checkAgainstTorch(DenseLayer layer, String fixture) {
        SafeTensors.Contents f = Fixtures.load(fixture);
        layer.weight().value().copyFrom(f.tensor("weight"));
        layer.bias().value().copyFrom(f.tensor("bias"));
        Tensor out = layer.forward(f.tensor("x"));
        assertClose(f.tensor("out"), out, 1e-5f, 1e-5f);
        Tensor dx = layer.backward(f.tensor("dout"));
        assertClose(f.tensor("dx"), dx, 1e-5f, 1e-5f);
        assertClose(f.tensor("dweight"), layer.weight().grad(), 1e-5f, 1e-5f);
        assertClose(f.tensor("dbias"), layer.bias().grad(), 1e-5f, 1e-5f);
    }

    @Test
    void forwardAndBackwardMatchTorch() {
        checkAgainstTorch(new Linear(16, 8, true), "nn/linear");
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        GradCheck.assertModule(new Linear(12, 7, true, 3), 5, 2, 3, 12);
    }

    @Test
    void gradientsAccumulateAcrossBackwardCalls() {
        SafeTensors.Contents f = Fixtures.load("nn/linear");
        Linear layer = new Linear(16, 8, true);
        layer.weight().value().copyFrom(f.tensor("weight"));
        for (int i = 0; i < 2; i++) {
            layer.forward(f.tensor("x"));
            layer.backward(f.tensor("dout"));
        }
        assertClose(f.tensor("dweight").copy().scaleInPlace(2f), layer.weight().grad(), 1e-5f, 1e-5f);
    }

    @Test
    void frozenWeightGetsNoGradientButInputStillDoes() {
        SafeTensors.Contents f = Fixtures.load("nn/linear");
        Linear layer = new Linear(16, 8, true);
        layer.weight().value().copyFrom(f.tensor("weight"));
        layer.bias().value().copyFrom(f.tensor("bias"));
        layer.weight().setRequiresGrad(false);
        layer.forward(f.tensor("x"));
        Tensor dx = layer.backward(f.tensor("dout"));
        assertFalse(layer.weight().hasGrad());
        assertClose(f.tensor("dx"), dx, 1e-5f, 1e-5f);
    }

    @Test
    void bf16FrozenWeightGivesTheBf16RoundedResult() {
        SafeTensors.Contents f = Fixtures.load("nn/linear");
        Linear layer = new Linear(16, 8, false);
        Tensor w = f.tensor("weight");
        layer.weight().setRequiresGrad(false);
        layer.weight().setValue(w.to(DType.BF16));
        Linear reference = new Linear(16, 8, false);
        reference.weight().value().copyFrom(w.to(DType.BF16).toF32());
        assertClose(reference.forward(f.tensor("x")), layer.forward(f.tensor("x")), 1e-6f, 1e-6f);
    }

    @Test
    void rejectsWrongWidth() {
        var e = assertThrows(IllegalArgumentException.class, () -> new Linear(16, 4, true).forward(Tensor.zeros(2, 15)));
        assertEquals("Linear: input has 15 features (shape (2, 15)), expected 16", e.getMessage());
    }

    @Test
    void frozenWeightsUseAPackedCopyThatFollowsEveryChange() {
        // big enough for the threaded GEMM path that keeps packed copies of frozen weights
        Linear frozen = new Linear(96, 80, true, 3);
        Linear reference = new Linear(96, 80, true, 3);
        frozen.requiresGrad(false);
        Tensor x = GradCheck.random(1, 70, 96);
        Tensor dout = GradCheck.random(2, 70, 80);
        for (int round = 0; round < 3; round++) {
            assertClose(reference.forward(x).copy(), frozen.forward(x), 1e-5f, 1e-5f);
            assertClose(reference.backward(dout).copy(), frozen.backward(dout), 1e-5f, 1e-5f);
            Tensor next = GradCheck.random(10 + round, 80, 96);
            frozen.weight().value().copyFrom(next);          // a write through the tensor drops the packed copy
            reference.weight().value().copyFrom(next);
        }
        frozen.weight().setValue(frozen.weight().value().to(DType.BF16));   // a new value, in bf16
        reference.weight().value().copyFrom(frozen.weight().value().toF32());
        assertClose(reference.forward(x).copy(), frozen.forward(x), 1e-5f, 1e-5f);
    }
}
