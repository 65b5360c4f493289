package dev.lora4j.optim;

import dev.lora4j.nn.Parameter;

import java.util.List;

/**
 * SGD with momentum as torch.optim.SGD (dampening 0): g ← g + λ·p; buf ← g on the first step, else
 * buf ← μ·buf + g; p ← p − lr·buf (or p − lr·(g + μ·buf) with Nesterov).
 */
public final class Sgd implements Optimizer {
    private final List<Parameter> params;
    private final float momentum;
    private final float weightDecay;
    private final boolean nesterov;
    private final float[][] buffers;
    private boolean started;

    /**
     * SGD over {@code params}.
     *
     * @throws IllegalArgumentException for negative momentum or weight decay, or Nesterov without momentum
     */
    public Sgd(List<Parameter> params, float momentum, float weightDecay, boolean nesterov) {
        if (!(momentum >= 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("SGD: momentum and weight_decay must be non-negative, got momentum="
                    + momentum + ", weight_decay=" + weightDecay);
        }
        if (nesterov && momentum == 0) {
            throw new IllegalArgumentException("SGD: Nesterov momentum requires momentum > 0");
        }
        this.params = List.copyOf(params);
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        this.nesterov = nesterov;
        this.buffers = new float[this.params.size()][];
        for (int i = 0; i < buffers.length; i++) {
            buffers[i] = new float[this.params.get(i).numel()];
        }
    }

    @Override
    public void step(float lr) {
        for (int i = 0; i < params.size(); i++) {
            Parameter p = params.get(i);
            if (!p.requiresGrad() || !p.hasGrad()) {
                continue;
            }
            float[] w = p.value().data();
            int off = p.value().offset();
            float[] g = p.grad().data();
            float[] buf = buffers[i];
            for (int j = 0; j < buf.length; j++) {
                float d = g[j] + weightDecay * w[off + j];
                if (momentum != 0) {
                    buf[j] = started ? momentum * buf[j] + d : d;
                    d = nesterov ? d + momentum * buf[j] : buf[j];
                }
                w[off + j] -= lr * d;
            }
        }
        started = true;
    }

    @Override
    public List<Parameter> parameters() {
        return params;
    }
}
