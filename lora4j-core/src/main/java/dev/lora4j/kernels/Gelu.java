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

    /** out[i] = gelu(inp[i]) for i in [0, n); out may be inp. */
    public static void forward(Kind kind, float[] out, float[] inp, int n) {
        Parallel.forRanges(n, (from, to) -> {
            float[] e = SCRATCH.get();
            exponentials(kind, e, -from, inp, from, to);
            finish(kind, out, null, e, -from, inp, null, from, to);
        });
    }

    /**
     * out[i] = gelu(inp[i]) and deriv[i] = gelu'(inp[i]) for i in [0, n), in one pass: training keeps the
     * derivative so that the backward pass is a product, and the two share their e^(−2u) (or e^(−x²/2)) here instead of
     * computing it again there.
     */
    public static void forwardWithDerivative(Kind kind, float[] out, float[] deriv, float[] inp, int n) {
        Parallel.forRanges(n, (from, to) -> {
            float[] e = SCRATCH.get();
            exponentials(kind, e, -from, inp, from, to);
            finish(kind, out, deriv, e, -from, inp, null, from, to);
        });
    }

    /** dinp[i] = gelu'(inp[i])·dout[i] for i in [0, n); dinp may be dout. */
    public static void backward(Kind kind, float[] dinp, float[] inp, float[] dout, int n) {
        Parallel.forRanges(n, (from, to) -> {
            float[] e = SCRATCH.get();
            exponentials(kind, e, -from, inp, from, to);
            finish(kind, null, dinp, e, -from, inp, dout, from, to);
        });
    }

    // Each kernel runs as two loops, exponentials first and then the rest, each in a method of its own whose loop
    // calls no helper of ours that takes or returns a vector, except the exp that comes first. C2 stops inlining
    // once a compilation holds about 18,000 nodes (each Vector API operation inlines dozens of small methods),
    // except for the API's own methods, which are forced inline; a helper of ours left out at that point passes its
    // vectors boxed on the heap. As one loop with helpers, GPT-2's GELU allocated 30 MB per call and took 4-5×
    // as long. The exponentials pass through a chunk-sized buffer that stays in L2, so outputs may alias inputs.
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[Parallel.RANGE_CHUNK]);

    // e[i + eOff] = e^(−2u) (TANH) or e^(−x²/2) (ERF) for x = inp[i], i in [from, to), whole vectors only: the
    // finishing pass computes the scalar tail on its own. For TANH, u = √(2/π)·(x + 0.044715·x³) is clamped to
    // ±15, beyond which 0.5·(1 + tanh u) is already 0 or 1 in float, so that e stays finite. e^(−x²/2) is
    // φ(x)·√(2π), and the exp(−z²) of erfc at z = |x|/√2.
    private static void exponentials(Kind kind, float[] e, int eOff, float[] inp, int from, int to) {
        boolean tanh = kind == Kind.TANH;
        for (int i = from, end = from + S.loopBound(to - from); i < end; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, inp, i);
            FloatVector x2 = x.mul(x);
            FloatVector arg = tanh
                    ? x2.mul(0.044715f).add(1f).mul(x).mul((float) SQRT_2_OVER_PI).max(-15f).min(15f).mul(-2f)
                    : x2.mul(-0.5f);
            ReproducibleMath.exp(arg).intoArray(e, i + eOff);
        }
    }

    // From x = inp[i] and its exponential in e[i + eOff]: out[i] = gelu(x) when out is not null, and deriv[i] =
    // gelu'(x), times dout[i] when dout is not null, when deriv is not null.
    // TANH, from e = e^(−2u): 0.5·(1 + tanh u) is the logistic 1/(1 + e), which keeps its relative precision for
    // negative x, where 1 + tanh u would cancel; the derivative is cdf + x/2·sech²u·du/dx, with
    // sech²u = 4·cdf·(1 − cdf) and 1 − cdf = e·cdf.
    // ERF, from g = e^(−x²/2): Φ(x) = erfc(−x/√2)/2, with erfc(|z|) from the fit above and the reflection
    // erfc(−z) = 2 − erfc(z); the derivative is Φ(x) + x·φ(x).
    private static void finish(Kind kind, float[] out, float[] deriv, float[] e, int eOff, float[] inp, float[] dout,
                               int from, int to) {
        boolean tanh = kind == Kind.TANH;
        FloatVector one = FloatVector.broadcast(S, 1f);
        int i = from;
        for (int end = from + S.loopBound(to - from); i < end; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, inp, i);
            FloatVector ex = FloatVector.fromArray(S, e, i + eOff);
            FloatVector cdf;
            if (tanh) {
                cdf = one.div(ex.add(1f));
            } else {
                FloatVector t = one.div(x.abs().mul(ERFC_P * (float) INV_SQRT_2).add(1f));
                FloatVector p = t.fma(ERFC[4], ERFC[3]);
                for (int k = 2; k >= 0; k--) {
                    p = p.fma(t, FloatVector.broadcast(S, ERFC[k]));
                }
                FloatVector halfErfc = p.mul(t).mul(ex).mul(0.5f);   // erfc(|z|)/2
                cdf = halfErfc.neg().add(1f).blend(halfErfc, x.compare(VectorOperators.LT, 0f));
            }
            if (out != null) {
                x.mul(cdf).intoArray(out, i);
            }
            if (deriv != null) {
                FloatVector d = tanh
                        ? cdf.add(x.mul(0.5f).mul(ex.mul(cdf).mul(cdf).mul(4f))
                                .mul(x.mul(x).mul(3f * 0.044715f).add(1f).mul((float) SQRT_2_OVER_PI)))
                        : cdf.add(x.mul(ex).mul((float) INV_SQRT_2PI));
                (dout == null ? d : d.mul(FloatVector.fromArray(S, dout, i))).intoArray(deriv, i);
            }
        }
        finishScalar(kind, out, deriv, inp, dout, i, to);
    }

    private static void finishScalar(Kind kind, float[] out, float[] deriv, float[] inp, float[] dout, int from, int to) {
        for (int i = from; i < to; i++) {
            float x = inp[i];
            if (out != null) {
                out[i] = value(kind, x);
            }
            if (deriv != null) {
                deriv[i] = derivative(kind, x) * (dout == null ? 1f : dout[i]);
            }
        }
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
