package dev.lora4j.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class GeluTest {
    // Vector lanes and the scalar tail (n is not a multiple of any vector length) against the double-precision
    // scalar value and derivative; the fused pass must agree with the separate forward and backward kernels.
    @ParameterizedTest
    @EnumSource(Gelu.Kind.class)
    void forwardWithDerivativeMatchesScalarValueAndDerivative(Gelu.Kind kind) {
        int n = 40_003;
        float[] x = new float[n];
        Random rng = new Random(7);
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rng.nextGaussian() * 3);
        }
        x[0] = 0f;
        x[1] = -9f;
        x[2] = 9f;
        float[] out = new float[n], deriv = new float[n], outAlone = new float[n], derivAlone = new float[n], ones = new float[n];
        java.util.Arrays.fill(ones, 1f);
        Gelu.forwardWithDerivative(kind, out, deriv, x, n);
        Gelu.forward(kind, outAlone, x, n);
        Gelu.backward(kind, derivAlone, x, ones, n);
        float[] inPlace = x.clone(), dInPlace = ones.clone();
        Gelu.forward(kind, inPlace, inPlace, n);                 // outputs may alias inputs
        Gelu.backward(kind, dInPlace, x, dInPlace, n);
        for (int i = 0; i < n; i++) {
            assertEquals(outAlone[i], inPlace[i], 0f, "forward in place at " + x[i]);
            assertEquals(derivAlone[i], dInPlace[i], 0f, "backward in place at " + x[i]);
            assertEquals(Gelu.value(kind, x[i]), out[i], 2e-6f * Math.max(1f, Math.abs(x[i])), "gelu(" + x[i] + ")");
            assertEquals(Gelu.derivative(kind, x[i]), deriv[i], 2e-6f, "gelu'(" + x[i] + ")");
            assertEquals(outAlone[i], out[i], 0f, "forward alone at " + x[i]);
            assertEquals(derivAlone[i], deriv[i], 3e-7f, "backward alone at " + x[i]);
        }
    }
}
