package dev.lora4j.kernels;

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

    private Gelu() {
    }

    /** out[i] = gelu(inp[i]) for i in [0, n). */
    public static void forward(Kind kind, float[] out, float[] inp, int n) {
        forRanges(n, (from, to) -> {
            for (int i = from; i < to; i++) {
                out[i] = value(kind, inp[i]);
            }
        });
    }

    /** dinp[i] = gelu'(inp[i])·dout[i] for i in [0, n); dinp may be dout. */
    public static void backward(Kind kind, float[] dinp, float[] inp, float[] dout, int n) {
        forRanges(n, (from, to) -> {
            for (int i = from; i < to; i++) {
                dinp[i] = derivative(kind, inp[i]) * dout[i];
            }
        });
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

    interface Range {
        void run(int from, int to);
    }

    /** Splits [0, n) into a few chunks per thread; element-wise kernels share this. */
    static void forRanges(int n, Range range) {
        final int chunk = 1 << 14;
        int chunks = (n + chunk - 1) / chunk;
        Parallel.forEach(chunks, c -> range.run(c * chunk, Math.min(n, (c + 1) * chunk)));
    }
}
