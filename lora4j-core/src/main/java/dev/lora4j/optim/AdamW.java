package dev.lora4j.optim;

import dev.lora4j.nn.Parameter;

import java.util.List;

/**
 * AdamW exactly as torch.optim.AdamW (Loshchilov and Hutter): decoupled weight decay p ← p·(1 − lr·λ), then
 * m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², and p ← p − (lr / (1−β1ᵗ))·m / (√v / √(1−β2ᵗ) + ε), with ε added
 * after the bias-corrected square root as PyTorch does.
 */
public final class AdamW implements Optimizer {
    private final List<Parameter> params;
    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final float[][] m;
    private final float[][] v;
    private long t;

    /**
     * AdamW over {@code params}.
     *
     * @throws IllegalArgumentException for betas outside [0, 1), a negative eps or weight decay
     */
    public AdamW(List<Parameter> params, float beta1, float beta2, float eps, float weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("AdamW: betas must be in [0, 1), got (" + beta1 + ", " + beta2 + ")");
        }
        if (!(eps >= 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("AdamW: eps and weight_decay must be non-negative, got eps=" + eps
                    + ", weight_decay=" + weightDecay);
        }
        this.params = List.copyOf(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.m = new float[this.params.size()][];
        this.v = new float[this.params.size()][];
        for (int i = 0; i < this.params.size(); i++) {
            m[i] = new float[this.params.get(i).numel()];
            v[i] = new float[this.params.get(i).numel()];
        }
    }

    /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
    public AdamW(List<Parameter> params) {
        this(params, 0.9f, 0.999f, 1e-8f, 0.01f);
    }

    @Override
    public void step(float lr) {
        t++;
        double bc1 = 1.0 - Math.pow(beta1, t);
        double bc2Sqrt = Math.sqrt(1.0 - Math.pow(beta2, t));
        float stepSize = (float) (lr / bc1);
        float decay = 1f - lr * weightDecay;
        for (int i = 0; i < params.size(); i++) {
            Parameter p = params.get(i);
            if (!p.requiresGrad() || !p.hasGrad()) {
                continue;
            }
            float[] w = p.value().data();
            int wOff = p.value().offset();
            float[] g = p.grad().data();
            float[] mi = m[i];
            float[] vi = v[i];
            for (int j = 0; j < mi.length; j++) {
                float gj = g[j];
                w[wOff + j] *= decay;
                mi[j] = beta1 * mi[j] + (1f - beta1) * gj;
                vi[j] = beta2 * vi[j] + (1f - beta2) * gj * gj;
                float denom = (float) (Math.sqrt(vi[j]) / bc2Sqrt) + eps;
                w[wOff + j] -= stepSize * mi[j] / denom;
            }
        }
    }

    @Override
    public List<Parameter> parameters() {
        return params;
    }

    /** Number of steps taken. */
    public long stepCount() {
        return t;
    }

    /** First-moment buffers, one per parameter, for checkpoints. */
    public float[][] firstMoments() {
        return m;
    }

    /** Second-moment buffers, one per parameter, for checkpoints. */
    public float[][] secondMoments() {
        return v;
    }

    /** Restores the step count after loading moment buffers from a checkpoint. */
    public void setStepCount(long steps) {
        this.t = steps;
    }
}
