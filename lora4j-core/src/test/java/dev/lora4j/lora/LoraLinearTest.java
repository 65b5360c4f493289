package dev.lora4j.lora;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.nn.Conv1D;
import dev.lora4j.nn.DenseLayer;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.DType;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.Fixtures;
import dev.lora4j.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoraLinearTest {
    /** A LoraLinear holding the fixture's base weight and adapter values. */
    static LoraLinear fromFixture(SafeTensors.Contents f, boolean fanInFanOut, LoraConfig.Builder cfg) {
        Tensor w = f.tensor("weight");
        DenseLayer base = fanInFanOut ? new Conv1D(w.dim(0), w.dim(1)) : new Linear(w.dim(1), w.dim(0), true);
        base.weight().value().copyFrom(w);
        base.bias().value().copyFrom(f.tensor("bias"));
        base.requiresGrad(false);
        int r = Integer.parseInt(f.metadata().get("r"));
        double alpha = Double.parseDouble(f.metadata().get("alpha"));
        LoraLinear layer = new LoraLinear(base);
        layer.updateLayer("default", r, alpha, cfg.r(r).loraAlpha(alpha).initLoraWeights(LoraConfig.InitLoraWeights.RANDOM).build(), 3);
        layer.weightA("default").value().copyFrom(f.tensor("lora_A"));
        layer.weightB("default").value().copyFrom(f.tensor("lora_B"));
        if (f.names().contains("lora_R")) {
            layer.weightR("default").value().copyFrom(f.tensor("lora_R"));
        }
        if (f.names().contains("magnitude")) {
            layer.magnitude("default").value().copyFrom(f.tensor("magnitude"));
        }
        return layer;
    }

    private static void checkAgainstTorch(String fixture, boolean fanInFanOut, LoraConfig.Builder cfg) {
        SafeTensors.Contents f = Fixtures.load("lora/" + fixture);
        LoraLinear layer = fromFixture(f, fanInFanOut, cfg);
        Tensor w0 = layer.baseLayer().weight().value().copy();
        layer.zeroGrad();
        assertClose(f.tensor("out"), layer.forward(f.tensor("x")), 1e-5f, 1e-5f);
        assertClose(f.tensor("dx"), layer.backward(f.tensor("dout")), 1e-5f, 1e-5f);
        for (String p : List.of("lora_A", "lora_B", "lora_R", "magnitude")) {
            Parameter param = switch (p) {
                case "lora_A" -> layer.weightA("default");
                case "lora_B" -> layer.weightB("default");
                case "lora_R" -> layer.weightR("default");
                default -> layer.magnitude("default");
            };
            if (f.names().contains("d" + p)) {
                assertClose(f.tensor("d" + p), param.grad(), 1e-4f, 1e-4f);
            } else if (param != null) {
                assertFalse(param.requiresGrad(), p + " should be frozen");
            }
        }
        assertFalse(layer.baseLayer().weight().hasGrad(), "the base weight must get no gradient");

        Tensor before = layer.forward(f.tensor("x")).copy();
        layer.merge(true, null);
        assertClose(f.tensor("merged"), layer.baseLayer().weight().value(), 1e-5f, 1e-5f);
        assertClose(before, layer.forward(f.tensor("x")), 1e-4f, 1e-4f);
        layer.unmerge();
        assertClose(w0, layer.baseLayer().weight().value(), 1e-5f, 1e-5f);
    }

    @Test
    void linearMatchesTorch() {
        checkAgainstTorch("linear", false, LoraConfig.builder());
    }

    @Test
    void conv1dFanInFanOutMatchesTorch() {
        checkAgainstTorch("linear_fan_in_fan_out", true, LoraConfig.builder().fanInFanOut(true));
    }

    @Test
    void rsloraScalesByAlphaOverSqrtR() {
        checkAgainstTorch("linear_rslora", false, LoraConfig.builder().useRslora(true));
    }

    @Test
    void doraMatchesTorch() {
        checkAgainstTorch("dora", false, LoraConfig.builder().useDora(true));
    }

    @Test
    void doraOverConv1dMatchesTorch() {
        checkAgainstTorch("dora_fan_in_fan_out", true, LoraConfig.builder().useDora(true).fanInFanOut(true));
    }

    @Test
    void edoraMatchesTorch() {
        checkAgainstTorch("edora", false, LoraConfig.builder().edora(LoraConfig.EdoraConfig.DEFAULT));
    }

    @Test
    void doraMagnitudeStartsAtTheNormOfTheAdaptedWeightSoDoraStartsAsLora() {
        Linear base = new Linear(12, 10, true, 5);
        base.requiresGrad(false);
        LoraConfig random = LoraConfig.builder().r(4).loraAlpha(8).initLoraWeights(LoraConfig.InitLoraWeights.RANDOM).build();
        LoraLinear dora = new LoraLinear(base);
        dora.updateLayer("default", 4, 8, random.toBuilder().useDora(true).build(), 6);
        LoraLinear lora = new LoraLinear(base);
        lora.updateLayer("default", 4, 8, random, 6);
        assertClose(lora.weightA("default").value(), dora.weightA("default").value(), 0f, 0f);
        float[] w = base.weight().value().data();
        Tensor delta = lora.deltaWeight("default");
        float[] m = dora.magnitude("default").value().data();
        for (int j = 0; j < 10; j++) {
            double ss = 0;
            for (int i = 0; i < 12; i++) {
                double v = w[j * 12 + i] + delta.get(j, i);
                ss += v * v;
            }
            assertEquals(Math.sqrt(ss), m[j], 1e-5 * Math.sqrt(ss));
        }
        Tensor x = GradCheck.random(5, 3, 12);
        assertClose(lora.forward(x).copy(), dora.forward(x), 1e-5f, 1e-5f);
    }

    @Test
    void defaultInitStartsAtTheBaseModel() {
        Linear base = new Linear(12, 10, true, 7);
        Tensor x = GradCheck.random(1, 4, 12);
        Tensor expected = base.forward(x).copy();
        for (LoraConfig.InitLoraWeights init : List.of(LoraConfig.InitLoraWeights.KAIMING, LoraConfig.InitLoraWeights.GAUSSIAN)) {
            LoraLinear layer = new LoraLinear(base);
            layer.updateLayer("default", 4, 8, LoraConfig.builder().initLoraWeights(init).build(), 2);
            assertClose(expected, layer.forward(x), 0f, 0f);
            float[] b = layer.weightB("default").value().data();
            for (float v : b) {
                assertEquals(0f, v);
            }
            // kaiming-uniform(a=√5) bound is 1/√in; gaussian std is 1/r
            double maxA = 0, sumSq = 0;
            for (float v : layer.weightA("default").value().data()) {
                maxA = Math.max(maxA, Math.abs(v));
                sumSq += v * v;
            }
            if (init == LoraConfig.InitLoraWeights.KAIMING) {
                assertTrue(maxA <= 1 / Math.sqrt(12), "kaiming bound");
            } else {
                assertEquals(0.25, Math.sqrt(sumSq / 48), 0.08, "gaussian std 1/r");
            }
        }
    }

    @Test
    void gradientsMatchFiniteDifferencesWithTwoActiveAdapters() {
        Linear base = new Linear(7, 5, true, 1);
        base.requiresGrad(false);
        LoraLinear layer = new LoraLinear(base);
        LoraConfig random = LoraConfig.builder().initLoraWeights(LoraConfig.InitLoraWeights.RANDOM).build();
        layer.updateLayer("one", 3, 6, random, 1);
        layer.updateLayer("two", 2, 4, random.toBuilder().useDora(true).build(), 2);
        layer.setActiveAdapters(List.of("one", "two"));
        // DoRA's norm is a constant to backward (as in PEFT), so only the magnitude of "two" is checkable here;
        // its A and B gradients are checked against torch in doraMatchesTorch.
        GradCheck.assertModule(layer, n -> !n.contains(".two.") || n.startsWith("lora_magnitude_vector"), 9, 2, 3, 7);
    }

    @Test
    void edoraGradientsMatchFiniteDifferencesAndOnlyRAndMagnitudeTrain() {
        Conv1D base = new Conv1D(6, 9, 3);
        base.requiresGrad(false);
        LoraLinear layer = new LoraLinear(base);
        LoraConfig cfg = LoraConfig.builder().fanInFanOut(true)
                .edora(new LoraConfig.EdoraConfig(4, 1, 0.5)).build();
        layer.updateLayer("default", 3, 6, cfg, 4);
        GradCheck.assertModule(layer, n -> n.startsWith("lora_magnitude_vector"), 11, 4, 6);
        List<String> trainable = new ArrayList<>();
        layer.namedParameters().forEach((n, p) -> {
            if (p.requiresGrad()) {
                trainable.add(n);
            }
        });
        assertEquals(List.of("lora_magnitude_vector.default.weight", "lora_latent_mapping.default.weight"), trainable);
        assertEquals(3 * 3 + 9, layer.trainableParameters().stream().mapToInt(Parameter::numel).sum());
    }

    @Test
    void edoraStartsFromTheRankRApproximation() {
        SafeTensors.Contents f = Fixtures.load("lora/edora_svd");
        Linear base = new Linear(14, 20, false);
        base.weight().value().copyFrom(f.tensor("weight"));
        LoraLinear layer = new LoraLinear(base);
        layer.updateLayer("default", 4, 4, LoraConfig.builder().edora(new LoraConfig.EdoraConfig(10, 42, 0)).build(), 1);
        Tensor ba = Tensor.zeros(20, 14);
        dev.lora4j.tensor.Ops.matmul("test", ba, layer.weightB("default").value(), false, layer.weightA("default").value(), false, 0f);
        assertClose(f.tensor("rank4"), ba, 1e-4f, 1e-4f);
        // with R = 0 the adapter is a no-op: the magnitude is ‖W0‖ and the output is the base output
        Tensor x = GradCheck.random(3, 2, 14);
        Tensor expected = base.forward(x).copy();
        assertClose(expected, layer.forward(x), 1e-5f, 1e-5f);
    }

    @Test
    void disabledAdaptersAndMergedLayersGiveTheBaseOutput() {
        SafeTensors.Contents f = Fixtures.load("lora/linear");
        LoraLinear layer = fromFixture(f, false, LoraConfig.builder());
        Tensor x = f.tensor("x");
        Tensor base = layer.baseLayer().forward(x).copy();
        layer.enableAdapters(false);
        assertClose(base, layer.forward(x), 0f, 0f);
        layer.enableAdapters(true);
        layer.merge(false, null);
        layer.enableAdapters(false);                       // forward while disabled unmerges first
        assertClose(base, layer.forward(x), 1e-5f, 1e-5f);
        assertFalse(layer.isMerged());
    }

    @Test
    void safeMergeRefusesNaNAndLeavesTheWeightUnchanged() {
        SafeTensors.Contents f = Fixtures.load("lora/linear");
        LoraLinear layer = fromFixture(f, false, LoraConfig.builder());
        layer.weightB("default").value().set(Float.NaN, 0, 0);
        Tensor w0 = layer.baseLayer().weight().value().copy();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> layer.merge(true, List.of("default")));
        assertEquals("NaNs detected in the merged weights. The adapter default seems to be broken", e.getMessage());
        assertClose(w0, layer.baseLayer().weight().value(), 0f, 0f);
        assertFalse(layer.isMerged());
    }

    @Test
    void mergingTwiceWarnsAndUnmergingNothingWarns() {
        SafeTensors.Contents f = Fixtures.load("lora/linear");
        LoraLinear layer = fromFixture(f, false, LoraConfig.builder());
        List<String> warnings = new ArrayList<>();
        LoraLayer.setWarningSink(warnings::add);
        try {
            layer.merge(false, null);
            Tensor once = layer.baseLayer().weight().value().copy();
            layer.merge(false, null);
            assertClose(once, layer.baseLayer().weight().value(), 0f, 0f);
            layer.unmerge();
            layer.unmerge();
        } finally {
            LoraLayer.setWarningSink(msg -> System.err.println("warning: " + msg));
        }
        assertEquals(2, warnings.size());
        assertTrue(warnings.get(1).contains("Already unmerged"));
    }

    @Test
    void mergeIntoABf16BaseKeepsItsDtype() {
        SafeTensors.Contents f = Fixtures.load("lora/linear");
        LoraLinear layer = fromFixture(f, false, LoraConfig.builder());
        Parameter w = layer.baseLayer().weight();
        w.setValue(w.value().to(DType.BF16));
        layer.merge(false, null);
        assertSame(DType.BF16, w.value().dtype());
        assertClose(f.tensor("merged"), w.value().toF32(), 0.05f, 0.01f);
    }

    @Test
    void rejectsNonPositiveRank() {
        LoraLinear layer = new LoraLinear(new Linear(4, 4, false));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> layer.updateLayer("default", 0, 8, LoraConfig.builder().build(), 1));
        assertEquals("`r` should be a positive integer value but the value passed is 0", e.getMessage());
    }
}
