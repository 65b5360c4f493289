package dev.lora4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * GELU activations and their derivatives. {@link Kind#TANH} is GPT-2's {@code gelu_new} (the tanh
 * approximation); {@link Kind#ERF} is the exact form used by BERT's {@code gelu}.
 */
public final class Gelu {
    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
    private static final double INV_SQRT_2 = 1.0 / Math.sqrt(2.0);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2.0 * Math.PI);

    /** Which GELU. */
    public enum Kind {
        /** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), Hugging Face's {@code gelu_new}. */
        TANH,
        /** 0.5·x·(1 + erf(x/√2)), Hugging Face's {@code gelu}. */
        ERF;

        /**
         * The kind for a Hugging Face {@code activation_function} / {@code hidden_act} name.
         *
         * @throws IllegalArgumentException for a name that is not a GELU
         */
        public static Kind fromHuggingFace(String name) {
            return switch (name) {
                case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> TANH;
                case "gelu" -> ERF;
                default -> throw new IllegalArgumentException("activation '" + name
                        + "' is not supported, expected one of gelu, gelu_new, gelu_pytorch_tanh");
            };
        }
    }

    private static final VectorSpecies<Float> S = VectorOps.S;
    // Abramowitz & Stegun 7.1.26: erfc(z) = t·P(t)·exp(−z²) for z ≥ 0, t = 1/(1 + p·z), P of degree 4, absolute
    // error below 1.5e-7 (about one float32 ulp of Φ near 1). Its exp(−z²) at z = |x|/√2 is the exp(−x²/2) that
    // φ(x) needs for the derivative, so value and derivative share one exp; the Numerical Recipes fit used before,
    // t·exp(−z² + P(t)), needed a second.
    private static final float ERFC_P = 0.3275911f;
    private static final float[] ERFC = {0.254829592f, -0.284496736f, 1.421413741f, -1.453152027f, 1.061405429f};

    private Gelu() {
    }

    /** out[i] = gelu(inp[i]) for i in [0, n). */
    public static void forward(Kind kind, float[] out, float[] inp, int n) {
        Parallel.forRanges(n, (from, to) -> {
            int i = from;
            for (int end = from + S.loopBound(to - from); i < end; i += S.length()) {
                FloatVector x = FloatVector.fromArray(S, inp, i);
                FloatVector cdf = kind == Kind.TANH ? tanhCdf(x) : normalCdf(x);
                x.mul(cdf).intoArray(out, i);
            }
            for (; i < to; i++) {
                out[i] = value(kind, inp[i]);
            }
        });
    }

    /**
     * out[i] = gelu(inp[i]) and deriv[i] = gelu'(inp[i]) for i in [0, n), in one pass: training keeps the
     * derivative so that the backward pass is a product, and the two share their e^(−2u) (or Φ) here instead of
     * computing it again there.
     */
    public static void forwardWithDerivative(Kind kind, float[] out, float[] deriv, float[] inp, int n) {
        Parallel.forRanges(n, (from, to) -> {
            int i = from;
            for (int end = from + S.loopBound(to - from); i < end; i += S.length()) {
                FloatVector x = FloatVector.fromArray(S, inp, i);
                if (kind == Kind.TANH) {
                    FloatVector x2 = x.mul(x);
                    FloatVector e = expMinusTwoU(x, x2);
                    FloatVector cdf = logistic(e);
                    x.mul(cdf).intoArray(out, i);
                    tanhDerivative(x, x2, e, cdf).intoArray(deriv, i);
                } else {
                    FloatVector e = gaussian(x);
                    FloatVector cdf = normalCdf(x, e);
                    x.mul(cdf).intoArray(out, i);
                    erfDerivative(x, e, cdf).intoArray(deriv, i);
                }
            }
            for (; i < to; i++) {
                out[i] = value(kind, inp[i]);
                deriv[i] = derivative(kind, inp[i]);
            }
        });
    }

    /** dinp[i] = gelu'(inp[i])·dout[i] for i in [0, n); dinp may be dout. */
    public static void backward(Kind kind, float[] dinp, float[] inp, float[] dout, int n) {
        Parallel.forRanges(n, (from, to) -> {
            int i = from;
            for (int end = from + S.loopBound(to - from); i < end; i += S.length()) {
                FloatVector x = FloatVector.fromArray(S, inp, i);
                FloatVector d = kind == Kind.TANH ? tanhDerivative(x) : erfDerivative(x);
                d.mul(FloatVector.fromArray(S, dout, i)).intoArray(dinp, i);
            }
            for (; i < to; i++) {
                dinp[i] = derivative(kind, inp[i]) * dout[i];
            }
        });
    }

    // e^(−2u) for u = √(2/π)·(x + 0.044715·x³), given x² as well; u is clamped to ±15, beyond which
    // 0.5·(1 + tanh u) is already 0 or 1 in float, so that e stays finite.
    private static FloatVector expMinusTwoU(FloatVector x, FloatVector x2) {
        FloatVector u = x2.mul(0.044715f).add(1f).mul(x).mul((float) SQRT_2_OVER_PI);
        return ReproducibleMath.exp(u.max(-15f).min(15f).mul(-2f));
    }

    // 0.5·(1 + tanh u) as 1/(1 + e^(−2u)), which keeps its relative precision for negative x, where 1 + tanh u
    // would cancel.
    private static FloatVector logistic(FloatVector e) {
        return FloatVector.broadcast(S, 1f).div(e.add(1f));
    }

    // 0.5·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    private static FloatVector tanhCdf(FloatVector x) {
        return logistic(expMinusTwoU(x, x.mul(x)));
    }

    private static FloatVector tanhDerivative(FloatVector x) {
        FloatVector x2 = x.mul(x);
        FloatVector e = expMinusTwoU(x, x2);
        return tanhDerivative(x, x2, e, logistic(e));
    }

    // cdf + x/2·sech²u·du/dx, from the e^(−2u) and cdf the forward value already needed: sech²u = 4·cdf·(1 − cdf),
    // and 1 − cdf = e·cdf.
    private static FloatVector tanhDerivative(FloatVector x, FloatVector x2, FloatVector e, FloatVector cdf) {
        FloatVector sech2 = e.mul(cdf).mul(cdf).mul(4f);
        FloatVector dInner = x2.mul(3f * 0.044715f).add(1f).mul((float) SQRT_2_OVER_PI);
        return cdf.add(x.mul(0.5f).mul(sech2).mul(dInner));
    }

    // exp(−x²/2): φ(x)·√(2π), and exp(−z²) for erfc at z = |x|/√2
    private static FloatVector gaussian(FloatVector x) {
        return ReproducibleMath.exp(x.mul(x).mul(-0.5f));
    }

    // Φ(x) = erfc(−x/√2)/2, with erfc(|z|) from the fit above and the reflection erfc(−z) = 2 − erfc(z); `gaussian`
    // is exp(−x²/2).
    private static FloatVector normalCdf(FloatVector x, FloatVector gaussian) {
        FloatVector t = FloatVector.broadcast(S, 1f).div(x.abs().mul(ERFC_P * (float) INV_SQRT_2).add(1f));
        FloatVector p = FloatVector.broadcast(S, ERFC[4]);
        for (int k = 3; k >= 0; k--) {
            p = p.fma(t, FloatVector.broadcast(S, ERFC[k]));
        }
        FloatVector halfErfc = p.mul(t).mul(gaussian).mul(0.5f);   // erfc(|z|)/2
        return halfErfc.neg().add(1f).blend(halfErfc, x.compare(VectorOperators.LT, 0f));
    }

    private static FloatVector normalCdf(FloatVector x) {
        return normalCdf(x, gaussian(x));
    }

    // Φ(x) + x·φ(x)
    private static FloatVector erfDerivative(FloatVector x) {
        FloatVector e = gaussian(x);
        return erfDerivative(x, e, normalCdf(x, e));
    }

    private static FloatVector erfDerivative(FloatVector x, FloatVector gaussian, FloatVector cdf) {
        return cdf.add(x.mul(gaussian).mul((float) INV_SQRT_2PI));
    }

    /** gelu(x) for one value, computed in double and rounded once. */
    public static float value(Kind kind, float x) {
        if (kind == Kind.TANH) {
            double tanh = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
            return (float) (0.5 * x * (1.0 + tanh));
        }
        return (float) (0.5 * x * (1.0 + Erf.erf(x * INV_SQRT_2)));
    }

    /** d gelu(x) / dx for one value. */
    public static float derivative(Kind kind, float x) {
        if (kind == Kind.TANH) {
            double tanh = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
            double sech2 = 1.0 - tanh * tanh;
            return (float) (0.5 * (1.0 + tanh) + 0.5 * x * sech2 * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x));
        }
        double cdf = 0.5 * (1.0 + Erf.erf(x * INV_SQRT_2));
        double pdf = INV_SQRT_2PI * Math.exp(-0.5 * (double) x * x);
        return (float) (cdf + x * pdf);
    }
}
