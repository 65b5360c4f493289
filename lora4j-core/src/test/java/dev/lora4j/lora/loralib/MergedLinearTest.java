package dev.lora4j.lora.loralib;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraLinear;
import dev.lora4j.nn.Conv1D;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Sequential;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.Fixtures;
import dev.lora4j.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MergedLinearTest {
    private static final boolean[] QV = {true, false, true};

    private static MergedLinear fromFixture(SafeTensors.Contents f, boolean mergeWeights) {
        Tensor w = f.tensor("weight");
        Conv1D base = new Conv1D(w.dim(0), w.dim(1));
        base.weight().value().copyFrom(w);
        base.bias().value().copyFrom(f.tensor("bias"));
        MergedLinear layer = new MergedLinear(base, 2, 4, 0, QV, mergeWeights, 1);
        layer.loraA().value().copyFrom(f.tensor("lora_A"));
        layer.loraB().value().copyFrom(f.tensor("lora_B"));
        return layer;
    }

    @Test
    void matchesLoralibGroupedConvolutionInTorch() {
        SafeTensors.Contents f = Fixtures.load("lora/merged_linear");
        MergedLinear layer = fromFixture(f, true);
        layer.zeroGrad();
        assertClose(f.tensor("out"), layer.forward(f.tensor("x")), 1e-5f, 1e-5f);
        assertClose(f.tensor("dx"), layer.backward(f.tensor("dout")), 1e-5f, 1e-5f);
        assertClose(f.tensor("dlora_A"), layer.loraA().grad(), 1e-5f, 1e-5f);
        assertClose(f.tensor("dlora_B"), layer.loraB().grad(), 1e-5f, 1e-5f);
        assertFalse(layer.dense().weight().requiresGrad());
    }

    @Test
    void evalMergesAndTrainUnmerges() {
        SafeTensors.Contents f = Fixtures.load("lora/merged_linear");
        MergedLinear layer = fromFixture(f, true);
        layer.eval();
        assertTrue(layer.isMerged());
        assertClose(f.tensor("merged"), layer.dense().weight().value(), 1e-5f, 1e-5f);
        assertClose(f.tensor("out"), layer.forward(f.tensor("x")), 1e-5f, 1e-5f);
        layer.train(true);
        assertFalse(layer.isMerged());
        assertClose(f.tensor("weight"), layer.dense().weight().value(), 1e-5f, 1e-5f);
        MergedLinear noMerge = fromFixture(f, false);
        noMerge.eval();
        assertFalse(noMerge.isMerged());
        assertClose(f.tensor("out"), noMerge.forward(f.tensor("x")), 1e-5f, 1e-5f);
    }

    @Test
    void equalsThreeSeparateLayersWithLoraOnQueryAndValue() {
        SafeTensors.Contents f = Fixtures.load("lora/merged_linear");
        MergedLinear fused = fromFixture(f, false);
        Tensor w = f.tensor("weight"), bias = f.tensor("bias");
        Tensor x = f.tensor("x");
        LoraConfig cfg = LoraConfig.builder().r(2).loraAlpha(4).fanInFanOut(true).build();
        Tensor expected = fused.forward(x).copy();
        for (int part = 0; part < 3; part++) {
            Conv1D c = new Conv1D(8, 8);
            c.weight().value().copyFrom(w.narrow(1, part * 8, 8));
            c.bias().value().copyFrom(bias.narrow(0, part * 8, 8));
            Module layer = c;
            if (part != 1) {
                LoraLinear lora = new LoraLinear(c);
                lora.updateLayer("default", 2, 4, cfg, 1);
                int g = part == 0 ? 0 : 1;
                lora.weightA("default").value().copyFrom(f.tensor("lora_A").narrow(0, g * 2, 2));
                lora.weightB("default").value().copyFrom(f.tensor("lora_B").narrow(0, g * 8, 8));
                layer = lora;
            }
            Tensor y = layer.forward(x);
            assertClose(expected.narrow(2, part * 8, 8).contiguous(), y, 1e-5f, 1e-5f);
        }
    }

    @Test
    void gradientsMatchFiniteDifferencesWithDropoutOff() {
        Linear base = new Linear(5, 6, true, 2);
        MergedLinear layer = new MergedLinear(base, 2, 3, 0, new boolean[]{false, true}, false, 3);
        dev.lora4j.nn.Init.normal(layer.loraB().value(), 0f, 1f, new java.util.Random(4));
        GradCheck.assertModule(layer, 5, 3, 5);
    }

    @Test
    void stateDictAndTrainabilityFollowLoralib() {
        Sequential model = new Sequential(
                MergedLinear.linear(new Linear(4, 4, true, 1), 2, 2, 0, false, 1),
                new Linear(4, 3, true, 2));
        LoraLib.markOnlyLoraAsTrainable(model, LoraConfig.Bias.NONE);
        assertEquals(List.of("0.lora_A", "0.lora_B"), names(LoraLib.loraStateDict(model, LoraConfig.Bias.NONE)));
        assertEquals(List.of("0.lora_A", "0.lora_B", "0.bias"), names(LoraLib.loraStateDict(model, LoraConfig.Bias.LORA_ONLY)));
        assertEquals(List.of("0.lora_A", "0.lora_B", "0.bias", "1.bias"), names(LoraLib.loraStateDict(model, LoraConfig.Bias.ALL)));
        List<String> trainable = model.namedParameters().entrySet().stream().filter(e -> e.getValue().requiresGrad())
                .map(Map.Entry::getKey).toList();
        assertEquals(List.of("0.lora_A", "0.lora_B"), trainable);
        LoraLib.markOnlyLoraAsTrainable(model, LoraConfig.Bias.LORA_ONLY);
        assertTrue(model.namedParameters().get("0.bias").requiresGrad());
        assertFalse(model.namedParameters().get("1.bias").requiresGrad());
    }

    @Test
    void loraOnlyStateDictRoundTripsNonStrictly() {
        Linear a = new Linear(4, 4, true, 1);
        MergedLinear src = MergedLinear.linear(a, 2, 2, 0, false, 1);
        dev.lora4j.nn.Init.normal(src.loraB().value(), 0f, 1f, new java.util.Random(9));
        MergedLinear dst = MergedLinear.linear(new Linear(4, 4, true, 1), 2, 2, 0, false, 7);
        LoraLib.loadNonStrict(dst, LoraLib.loraStateDict(src, LoraConfig.Bias.NONE), "adapter.safetensors");
        Tensor x = GradCheck.random(2, 3, 4);
        assertClose(src.forward(x).copy(), dst.forward(x), 0f, 0f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraLib.loadNonStrict(dst, Map.of("0.lora_C", Tensor.zeros(1)), "adapter.safetensors"));
        assertEquals("adapter.safetensors: '0.lora_C' is not a parameter of the model", e.getMessage());
    }

    @Test
    void rejectsUnevenGroupsAndNoEnabledGroup() {
        assertThrows(IllegalArgumentException.class, () -> new MergedLinear(new Linear(4, 7, true), 2, 2, 0, QV, false, 1));
        assertThrows(IllegalArgumentException.class,
                () -> new MergedLinear(new Linear(4, 6, true), 2, 2, 0, new boolean[]{false, false}, false, 1));
    }

    private static List<String> names(Map<String, Tensor> m) {
        return List.copyOf(m.keySet());
    }
}
