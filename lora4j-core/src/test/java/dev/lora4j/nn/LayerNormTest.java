package dev.lora4j.nn;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.testing.Fixtures;
import dev.lora4j.testing.GradCheck;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LayerNormTest {
    @Test
    void forwardAndBackwardMatchTorch() {
        SafeTensors.Contents f = Fixtures.load("nn/layer_norm");
        LayerNorm ln = new LayerNorm(16, 1e-5f);
        ln.weight().value().copyFrom(f.tensor("weight"));
        ln.bias().value().copyFrom(f.tensor("bias"));
        assertClose(f.tensor("out"), ln.forward(f.tensor("x")), 1e-5f, 1e-5f);
        assertClose(f.tensor("dx"), ln.backward(f.tensor("dout")), 1e-5f, 1e-4f);
        assertClose(f.tensor("dweight"), ln.weight().grad(), 1e-5f, 1e-5f);
        assertClose(f.tensor("dbias"), ln.bias().grad(), 1e-5f, 1e-5f);
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        LayerNorm ln = new LayerNorm(10, 1e-5f);
        ln.weight().value().copyFrom(GradCheck.random(3, 10));
        ln.bias().value().copyFrom(GradCheck.random(4, 10));
        GradCheck.assertModule(ln, 8, 4, 10);
    }

    @Test
    void rejectsWrongWidth() {
        var e = assertThrows(IllegalArgumentException.class, () -> new LayerNorm(16, 1e-5f).forward(Tensor.zeros(2, 15)));
        assertEquals("LayerNorm: input has 15 channels, expected 16", e.getMessage());
    }
}
