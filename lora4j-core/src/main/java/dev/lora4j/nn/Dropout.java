package dev.lora4j.nn;

import dev.lora4j.kernels.DropoutMask;
import dev.lora4j.kernels.VectorOps;
import dev.lora4j.tensor.Tensor;

import java.util.SplittableRandom;

/**
 * Inverted dropout as torch.nn.Dropout: in training each element is zeroed with probability p and the rest are
 * scaled by 1/(1−p); in eval mode, and when p = 0, the input passes through unchanged. Each call draws a key from
 * the module's own seeded generator and hashes it with each element's index ({@link DropoutMask}), so a run is
 * reproducible from its seed.
 */
public final class Dropout extends Module {
    private final float p;
    private SplittableRandom rng;
    private float[] mask = new float[0];   // 0 or 1/(1−p) per element of the last input
    private boolean applied;
    private Tensor out;
    private Tensor dinp;

    /**
     * Dropout with probability {@code p} and a generator seeded with {@code seed}.
     *
     * @throws IllegalArgumentException if p is outside [0, 1)
     */
    public Dropout(float p, long seed) {
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("Dropout: p must be in [0, 1), got " + p);
        }
        this.p = p;
        this.rng = new SplittableRandom(seed);
    }

    /** The drop probability. */
    public float p() {
        return p;
    }

    /** Restarts the generator, e.g. when resuming a run. */
    public void reseed(long seed) {
        rng = new SplittableRandom(seed);
    }

    @Override
    public Tensor forward(Tensor x) {
        applied = isTraining() && p > 0f;
        if (!applied) {
            return x;
        }
        Tensor in = x.contiguous().toF32();
        int n = in.numel();
        if (mask.length != n) {
            mask = new float[n];
        }
        // One key per call from the seeded sequence; the mask itself is a hash of (element, key), filled in parallel.
        DropoutMask.fill(mask, n, rng.nextLong(), p, 1f / (1f - p));
        out = Tensor.reuse(out, in.shape());
        VectorOps.multiplyParallel(out.data(), 0, in.data(), in.offset(), mask, 0, n);
        return out;
    }

    /** True when the last forward pass returned its input unchanged (p = 0 or eval mode): backward is the identity too. */
    public boolean passedThrough() {
        return !applied;
    }

    @Override
    public Tensor backward(Tensor dout) {
        if (!applied) {
            return dout;
        }
        Tensor d = dout.contiguous();
        dinp = Tensor.reuse(dinp, d.shape());
        VectorOps.multiplyParallel(dinp.data(), 0, d.data(), d.offset(), mask, 0, d.numel());
        return dinp;
    }

    @Override
    public String typeName() {
        return p == 0f ? "Identity" : "Dropout";
    }

    @Override
    protected String extraRepr() {
        return p == 0f ? "" : "p=" + p + ", inplace=False";
    }
}
