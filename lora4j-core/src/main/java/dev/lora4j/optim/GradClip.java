package dev.lora4j.optim;

import dev.lora4j.kernels.VectorOps;
import dev.lora4j.nn.Parameter;

import java.util.List;

/** Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_. */
public final class GradClip {
    private GradClip() {
    }

    /**
     * Scales all gradients by maxNorm / (norm + 1e-6) when their global norm exceeds maxNorm; returns the norm
     * before clipping. Parameters without a gradient are ignored.
     */
    public static float byGlobalNorm(List<Parameter> params, float maxNorm) {
        double sumSq = 0;
        for (Parameter p : params) {
            if (p.hasGrad()) {
                sumSq += VectorOps.sumOfSquares(p.grad().data(), 0, p.numel());
            }
        }
        float norm = (float) Math.sqrt(sumSq);
        float coef = maxNorm / (norm + 1e-6f);
        if (coef < 1f) {
            for (Parameter p : params) {
                if (p.hasGrad()) {
                    p.grad().scaleInPlace(coef);
                }
            }
        }
        return norm;
    }
}
