package dev.lora4j.lora;

import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.nn.Sequential;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Backward for parameters only (autograd's "no gradient for inputs that do not require grad") must accumulate
 * exactly the parameter gradients of a full backward, and skip the modules below the lowest trainable one.
 */
class BackwardParametersOnlyTest {
    private static final int WIDTH = 5;

    /** A module that counts its backward calls around a wrapped layer. */
    private static final class Counting extends Module {
        int backwards;

        Counting(Module inner) {
            registerModule("inner", inner);
        }

        @Override
        public Tensor forward(Tensor x) {
            return child("inner").forward(x);
        }

        @Override
        public Tensor backward(Tensor dout) {
            backwards++;
            return child("inner").backward(dout);
        }
    }

    private static Tensor random(Random r, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.numel(); i++) {
            t.data()[i] = (float) r.nextGaussian();
        }
        return t;
    }

    private static Map<String, float[]> gradients(Module m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.namedParameters().forEach((name, p) -> {
            if (p.requiresGrad()) {
                out.put(name, p.grad().toFloatArray());
            }
        });
        return out;
    }

    // Runs forward and then either backward or backwardParametersOnly from the same output gradient.
    private static Map<String, float[]> run(Module m, Tensor x, Tensor dout, boolean parametersOnly) {
        m.zeroGrad();
        m.forward(x);
        if (parametersOnly) {
            m.backwardParametersOnly(dout);
        } else {
            m.backward(dout);
        }
        return gradients(m);
    }

    private static void assertSameGradients(Map<String, float[]> expected, Map<String, float[]> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((name, g) -> assertClose(g, actual.get(name), 1e-6f, 1e-6f));
    }

    @ParameterizedTest
    @ValueSource(strings = {"lora", "dora", "edora"})
    void sameParameterGradientsAsFullBackwardAndNothingBelowTheLowestTrainable(String kind) {
        Counting bottom = new Counting(new Linear(WIDTH, WIDTH, true, 1));
        Counting top = new Counting(new Linear(WIDTH, WIDTH, true, 4));
        Sequential model = new Sequential(bottom, new Linear(WIDTH, WIDTH, true, 2), new Linear(WIDTH, WIDTH, true, 3), top);
        LoraConfig.Builder cfg = LoraConfig.builder().r(2).loraAlpha(4).targetModules("1", "2")
                .initLoraWeights(LoraConfig.InitLoraWeights.RANDOM);
        if (kind.equals("dora")) {
            cfg.useDora(true);
        } else if (kind.equals("edora")) {
            cfg.edora(new LoraConfig.EdoraConfig(4, 1, 0.5));
        }
        LoraModel.inject(model, cfg.build(), 7);
        // B starts at zero in PEFT; give it values so that gradients reach A, R and the magnitude.
        Random r = new Random(11);
        for (Parameter p : model.trainableParameters()) {
            for (int i = 0; i < p.value().numel(); i++) {
                p.value().data()[i] += 0.3f * (float) r.nextGaussian();
            }
        }
        Tensor x = random(r, 3, WIDTH), dout = random(r, 3, WIDTH);

        Map<String, float[]> full = run(model, x, dout, false);
        int bottomBefore = bottom.backwards, topBefore = top.backwards;
        Map<String, float[]> partial = run(model, x, dout, true);

        assertFalse(full.isEmpty());
        assertSameGradients(full, partial);
        assertEquals(bottomBefore, bottom.backwards, "the frozen layer under the lowest LoRA layer ran backward");
        assertEquals(topBefore + 1, top.backwards, "the frozen layer above the LoRA layers must still run");
    }

    @Test
    void aTrainableBiasAloneStillGetsItsGradientAndAFrozenModelDoesNothing() {
        Counting only = new Counting(new Linear(WIDTH, WIDTH, true, 1));
        Linear head = new Linear(WIDTH, 2, true, 2);
        Sequential model = new Sequential(only, head);
        model.requiresGrad(false);
        head.bias().setRequiresGrad(true);
        Random r = new Random(3);
        Tensor x = random(r, 4, WIDTH), dout = random(r, 4, 2);
        assertSameGradients(run(model, x, dout, false), run(model, x, dout, true));
        int before = only.backwards;

        head.bias().setRequiresGrad(false);
        model.forward(x);
        model.backwardParametersOnly(dout);
        assertEquals(before, only.backwards);
    }
}
