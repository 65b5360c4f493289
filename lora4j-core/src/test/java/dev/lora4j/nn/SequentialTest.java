package dev.lora4j.nn;

import dev.lora4j.kernels.Gelu;
import dev.lora4j.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SequentialTest {
    @Test
    void chainRuleThroughAStackMatchesFiniteDifferences() {
        Sequential mlp = new Sequential(new Linear(6, 10, true, 1), new GeluActivation(Gelu.Kind.TANH),
                new LayerNorm(10, 1e-5f), new Linear(10, 3, true, 2));
        GradCheck.assertModule(mlp, 21, 5, 6);
    }

    @Test
    void childrenAreNumbered() {
        Sequential s = new Sequential(new Linear(2, 2, false), new Linear(2, 2, false));
        assertEquals(List.of("0.weight", "1.weight"), List.copyOf(s.namedParameters().keySet()));
    }
}
