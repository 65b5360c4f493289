package dev.lora4j.nn;

import dev.lora4j.tensor.Tensor;

import java.util.Random;
import java.util.function.Supplier;

/** Weight initialisers with torch.nn.init's definitions, drawing from a caller-supplied seeded generator. */
public final class Init {
    private static final ThreadLocal<Boolean> SKIP = ThreadLocal.withInitial(() -> false);

    private Init() {
    }

    /**
     * Runs {@code build} with random initialisation switched off on this thread (tensors keep their zeros), as
     * transformers' {@code no_init_weights} when every weight is about to be loaded from a checkpoint: drawing
     * 355 M Gaussians for gpt2-medium takes seconds that the load then overwrites. The zero tensors made inside
     * are allocated only when first used ({@link Tensor#deferringZeros}), so weights that the load maps from
     * the file never get a heap array at all.
     */
    public static <T> T skipping(Supplier<T> build) {
        boolean before = SKIP.get();
        SKIP.set(true);
        try {
            return Tensor.deferringZeros(build);
        } finally {
            SKIP.set(before);
        }
    }

    /** Fills a float32 tensor with U(−bound, bound). */
    public static Tensor uniform(Tensor t, float bound, Random rng) {
        if (SKIP.get()) {
            return t;
        }
        float[] d = t.data();
        for (int i = t.offset(), end = t.offset() + t.numel(); i < end; i++) {
            d[i] = (rng.nextFloat() * 2f - 1f) * bound;
        }
        return t;
    }

    /** Fills a float32 tensor with N(mean, std²). */
    public static Tensor normal(Tensor t, float mean, float std, Random rng) {
        if (SKIP.get()) {
            return t;
        }
        float[] d = t.data();
        for (int i = t.offset(), end = t.offset() + t.numel(); i < end; i++) {
            d[i] = mean + std * (float) rng.nextGaussian();
        }
        return t;
    }

    /**
     * kaiming_uniform_ with negative slope a and fan_in: bound = √(6 / ((1 + a²)·fan_in)). With a = √5 this is
     * torch.nn.Linear's default (bound 1/√fan_in), also LoRA's A.
     */
    public static Tensor kaimingUniform(Tensor t, double a, int fanIn, Random rng) {
        return uniform(t, (float) Math.sqrt(6.0 / ((1 + a * a) * fanIn)), rng);
    }
}
