package dev.lora4j.lora;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.nn.Conv2d;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.Fixtures;
import dev.lora4j.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertFalse;

class LoraConv2dTest {
    @Test
    void forwardBackwardAndMergeMatchTorch() {
        SafeTensors.Contents f = Fixtures.load("lora/conv2d");
        Conv2d base = new Conv2d(3, 4, 3, 3, 2, 1, true, 0);
        base.weight().value().copyFrom(f.tensor("weight"));
        base.bias().value().copyFrom(f.tensor("bias"));
        base.requiresGrad(false);
        LoraConv2d layer = new LoraConv2d(base);
        layer.updateLayer("default", 2, 4, LoraConfig.builder().build(), 1);
        layer.weightA("default").value().copyFrom(f.tensor("lora_A"));
        layer.weightB("default").value().copyFrom(f.tensor("lora_B"));
        assertClose(f.tensor("out"), layer.forward(f.tensor("x")), 1e-5f, 1e-5f);
        assertClose(f.tensor("dx"), layer.backward(f.tensor("dout")), 1e-5f, 1e-5f);
        assertClose(f.tensor("dlora_A"), layer.weightA("default").grad(), 1e-4f, 1e-5f);
        assertClose(f.tensor("dlora_B"), layer.weightB("default").grad(), 1e-4f, 1e-5f);
        assertFalse(base.weight().hasGrad());
        layer.merge(true, null);
        assertClose(f.tensor("merged"), base.weight().value(), 1e-5f, 1e-5f);
        assertClose(f.tensor("out"), layer.forward(f.tensor("x")), 1e-4f, 1e-5f);
        layer.unmerge();
        assertClose(f.tensor("weight"), base.weight().value(), 1e-5f, 1e-5f);
    }

    @Test
    void startsAtTheBaseAndGradientsMatchFiniteDifferences() {
        Conv2d base = new Conv2d(2, 3, 3, 3, 1, 1, true, 2);
        base.requiresGrad(false);
        Tensor x = GradCheck.random(3, 1, 2, 5, 4);
        Tensor expected = base.forward(x).copy();
        LoraConv2d layer = new LoraConv2d(base);
        layer.updateLayer("default", 2, 2, LoraConfig.builder().build(), 1);
        assertClose(expected, layer.forward(x), 0f, 0f);
        LoraConv2d random = new LoraConv2d(base);
        random.updateLayer("default", 2, 2, LoraConfig.builder().initLoraWeights(LoraConfig.InitLoraWeights.RANDOM).build(), 1);
        GradCheck.assertModule(random, 6, 2, 2, 5, 4);
    }
}
