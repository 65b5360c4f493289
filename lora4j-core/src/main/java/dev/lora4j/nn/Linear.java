package dev.lora4j.nn;

/** y = x·Wᵀ + b with W stored (out, in), as torch.nn.Linear; initialised as torch does. */
public final class Linear extends DenseLayer {
    /** A linear layer with torch's default initialisation drawn from {@code seed}. */
    public Linear(int inFeatures, int outFeatures, boolean hasBias, long seed) {
        super(inFeatures, outFeatures, hasBias, false, seed);
    }

    /** A linear layer with a fixed seed (weights are usually loaded afterwards). */
    public Linear(int inFeatures, int outFeatures, boolean hasBias) {
        this(inFeatures, outFeatures, hasBias, 0L);
    }

    @Override
    public Linear newLike() {
        return new Linear(inFeatures(), outFeatures(), bias() != null);
    }
}
