package dev.lora4j.nn;

import dev.lora4j.tensor.Tensor;

import java.util.Random;

/** Weight initialisers with torch.nn.init's definitions, drawing from a caller-supplied seeded generator. */
public final class Init {
    private Init() {
    }

    /** Fills a float32 tensor with U(−bound, bound). */
    public static Tensor uniform(Tensor t, float bound, Random rng) {
        float[] d = t.data();
        for (int i = t.offset(), end = t.offset() + t.numel(); i < end; i++) {
            d[i] = (rng.nextFloat() * 2f - 1f) * bound;
        }
        return t;
    }

    /** Fills a float32 tensor with N(mean, std²). */
    public static Tensor normal(Tensor t, float mean, float std, Random rng) {
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
