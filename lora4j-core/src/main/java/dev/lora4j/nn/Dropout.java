package dev.lora4j.nn;

import dev.lora4j.kernels.DropoutMask;
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
    private long key;                      // the last forward pass's mask key: its backward makes the same mask
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
        // One key per call from the seeded sequence; the mask is a hash of (element, key), made as it is applied
        // (in one pass, rather than filling a mask and then multiplying by it) and made again by the backward pass.
        key = rng.nextLong();
        out = Tensor.reuse(out, in.shape());
        DropoutMask.apply(out.data(), 0, in.data(), in.offset(), in.numel(), key, p, 1f / (1f - p));
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
        DropoutMask.apply(dinp.data(), 0, d.data(), d.offset(), d.numel(), key, p, 1f / (1f - p));
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
