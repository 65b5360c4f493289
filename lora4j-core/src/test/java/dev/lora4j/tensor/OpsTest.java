package dev.lora4j.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class OpsTest {
    @Test
    void matmulOfTransposedViewsMatchesHandComputation() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);      // (2, 3)
        Tensor b = Tensor.of(new float[] {1, 0, 2, 1, 0, 1}, 2, 3);      // used as bᵀ: (3, 2)
        Tensor out = Tensor.zeros(2, 2);
        Ops.matmul("test", out, a, false, b, true, 0f);
        assertArrayEquals(new float[] {1 + 6, 1 + 3, 4 + 12, 4 + 6}, out.toFloatArray());
    }

    @Test
    void mismatchNamesOperationAndShapes() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Ops.matmul("Linear", Tensor.zeros(2, 4), Tensor.zeros(2, 15), false, Tensor.zeros(4, 16), true, 0f));
        assertEquals("Linear: cannot multiply (2, 15) by (4, 16)ᵀ: inner dimensions 15 and 16 differ", e.getMessage());
    }
}
