package dev.lora4j.nn;

import dev.lora4j.kernels.CrossEntropy;
import dev.lora4j.tensor.Tensor;

/**
 * torch.nn.CrossEntropyLoss with {@code reduction='mean'}, {@code ignore_index} and {@code label_smoothing},
 * plus optional per-position weights (a loss mask). Logits are (…, V); targets one int per row.
 */
public final class CrossEntropyLoss {
    /** PyTorch's default ignore index. */
    public static final int DEFAULT_IGNORE_INDEX = -100;

    private final float labelSmoothing;
    private final int ignoreIndex;
    private Tensor logits;
    private int[] targets;
    private float[] weights;
    private float[] losses = new float[0];
    private float[] lse = new float[0];
    private double normalizer;
    private Tensor dlogits;

    /**
     * A loss with the given smoothing ε ∈ [0, 1] and ignore index.
     *
     * @throws IllegalArgumentException if ε is outside [0, 1]
     */
    public CrossEntropyLoss(float labelSmoothing, int ignoreIndex) {
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f)) {
            throw new IllegalArgumentException("CrossEntropyLoss: label_smoothing must be in [0, 1], got " + labelSmoothing);
        }
        this.labelSmoothing = labelSmoothing;
        this.ignoreIndex = ignoreIndex;
    }

    /** No smoothing, ignore index -100. */
    public CrossEntropyLoss() {
        this(0f, DEFAULT_IGNORE_INDEX);
    }

    /**
     * The mean loss: Σ w_n·loss_n / Σ w_n over rows whose target is not ignored (w = 1 without weights).
     * Returns 0 when every target is ignored.
     *
     * @param weights per-row weights or null
     * @throws IllegalArgumentException if the number of targets or weights does not match the rows of logits
     */
    public float forward(Tensor logits, int[] targets, float[] weights) {
        int V = logits.dim(-1);
        int N = logits.numel() / V;
        if (targets.length != N || (weights != null && weights.length != N)) {
            throw new IllegalArgumentException("CrossEntropyLoss: logits " + logits.shape() + " have " + N
                    + " rows but " + targets.length + " targets" + (weights != null ? " and " + weights.length + " weights" : ""));
        }
        this.logits = logits.contiguous().toF32();
        this.targets = targets;
        this.weights = weights;
        if (losses.length != N) {
            losses = new float[N];
            lse = new float[N];
        }
        double total = CrossEntropy.forward(losses, lse, this.logits.denseData(), targets, weights, N, V,
                labelSmoothing, ignoreIndex);
        normalizer = CrossEntropy.normalizer(targets, weights, N, ignoreIndex);
        return normalizer == 0 ? 0f : (float) (total / normalizer);
    }

    /** Σ w over rows that count: the divisor {@link #forward} used. */
    public double normalizer() {
        return normalizer;
    }

    /**
     * d(scale·loss)/d(logits), shaped like the logits. Pass 1/accumulationSteps as scale when accumulating.
     */
    public Tensor backward(float scale) {
        dlogits = Tensor.reuse(dlogits, logits.shape());
        return gradientInto(dlogits, scale);
    }

    /**
     * As {@link #backward}, but the gradient overwrites the logits that {@link #forward} was given (when they
     * were contiguous float32 from offset 0; otherwise its copy of them, or for a view a new array), and is
     * returned. For a training step that has no further use for the logits: a language model's are its largest
     * activation (GPT-2's 512 × 50257 are 103 MB), and a second array as large costs that much memory and a pass
     * of memory traffic.
     */
    public Tensor backwardInPlace(float scale) {
        boolean dense = logits.offset() == 0;   // contiguous float32 already; a view from an offset gets its own array
        return dense ? gradientInto(logits, scale) : backward(scale);
    }

    // d(scale·loss)/d(logits) written into out (the logits' shape; the kernel reads each logit before it writes
    // its place, so out may be the logits themselves).
    private Tensor gradientInto(Tensor out, float scale) {
        int V = logits.dim(-1);
        int N = logits.numel() / V;
        float g = normalizer == 0 ? 0f : (float) (scale / normalizer);
        CrossEntropy.backward(out.denseData(), logits.denseData(), lse, targets, weights, g, N, V, labelSmoothing, ignoreIndex);
        return out;
    }
}
