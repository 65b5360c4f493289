package dev.lora4j.testing;

import dev.lora4j.tensor.Tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Element-wise comparison of tensors with absolute and relative tolerances, as torch.testing.assert_close. */
public final class TensorAssert {
    private TensorAssert() {
    }

    /** Asserts same shape and |expected − actual| ≤ atol + rtol·|expected| everywhere. */
    public static void assertClose(Tensor expected, Tensor actual, float atol, float rtol) {
        assertEquals(expected.shape(), actual.shape(), "shape");
        assertClose(expected.toFloatArray(), actual.toFloatArray(), atol, rtol);
    }

    /** Asserts same length and |expected − actual| ≤ atol + rtol·|expected| everywhere. */
    public static void assertClose(float[] expected, float[] actual, float atol, float rtol) {
        assertEquals(expected.length, actual.length, "length");
        int worst = -1;
        double worstExcess = 0;
        int bad = 0;
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs((double) expected[i] - actual[i]);
            double allowed = atol + rtol * Math.abs(expected[i]);
            if (!(diff <= allowed)) {
                bad++;
                double excess = Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff - allowed;
                if (worst < 0 || excess > worstExcess) {
                    worst = i;
                    worstExcess = excess;
                }
            }
        }
        if (bad > 0) {
            fail(bad + " of " + expected.length + " elements differ; worst at " + worst + ": expected "
                    + expected[worst] + ", got " + actual[worst] + " (atol " + atol + ", rtol " + rtol + ")");
        }
    }
}
