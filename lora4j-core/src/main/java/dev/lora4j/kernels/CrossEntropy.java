package dev.lora4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Softmax cross-entropy over a vocabulary, with PyTorch's {@code ignore_index} and {@code label_smoothing}, and
 * an optional per-position weight (the loss mask of the LoRA paper's GPT-2 recipe).
 *
 * <p>For a row with target t and smoothing ε the loss is (1−ε)·(−log p_t) + (ε/V)·Σ_j(−log p_j), exactly
 * torch.nn.functional.cross_entropy. The mean divides by the total weight of rows whose target is not ignored
 * (their count, without weights), again as PyTorch's {@code reduction='mean'}.
 */
public final class CrossEntropy {
    private static final VectorSpecies<Float> S = VectorOps.S;

    private CrossEntropy() {
    }

    /**
     * Computes per-row losses and log-sum-exp (saved for backward); returns the weighted sum of losses.
     * Ignored rows get loss 0.
     *
     * @param losses  (N) written
     * @param lse     (N) written: log Σ_j exp(logits[n, j])
     * @param logits  (N, V)
     * @param targets (N) class indices or ignoreIndex
     * @param weights (N) or null for all ones
     * @throws IllegalArgumentException if a target is outside [0, V) and not ignoreIndex
     */
    public static double forward(float[] losses, float[] lse, float[] logits, int[] targets, float[] weights,
                                 int N, int V, float smoothing, int ignoreIndex) {
        Parallel.forEach(N, n -> {
            int t = targets[n];
            if (t == ignoreIndex) {
                losses[n] = 0f;
                lse[n] = 0f;
                return;
            }
            if (t < 0 || t >= V) {
                throw new IllegalArgumentException("cross_entropy: target " + t + " at row " + n
                        + " is outside [0, " + V + ") and is not the ignore index " + ignoreIndex);
            }
            int row = n * V;
            int vec = S.loopBound(V);
            FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            FloatVector vsum = FloatVector.zero(S);
            for (int j = 0; j < vec; j += S.length()) {
                FloatVector x = FloatVector.fromArray(S, logits, row + j);
                vmax = vmax.max(x);
                vsum = vsum.add(x);
            }
            float max = vmax.reduceLanes(VectorOperators.MAX);
            double sumLogits = ReproducibleMath.sumLanes(vsum);
            for (int j = vec; j < V; j++) {
                max = Math.max(max, logits[row + j]);
                sumLogits += logits[row + j];
            }
            FloatVector vexp = FloatVector.zero(S);
            for (int j = 0; j < vec; j += S.length()) {
                vexp = vexp.add(ReproducibleMath.exp(FloatVector.fromArray(S, logits, row + j).sub(max)));
            }
            double sum = ReproducibleMath.sumLanes(vexp);
            for (int j = vec; j < V; j++) {
                sum += Math.exp(logits[row + j] - max);
            }
            double logZ = max + Math.log(sum);
            double nll = logZ - logits[row + t];
            double smooth = logZ - sumLogits / V;     // mean over j of −log p_j
            double loss = (1.0 - smoothing) * nll + smoothing * smooth;
            losses[n] = (float) loss;
            lse[n] = (float) logZ;
        });
        double total = 0;
        for (int n = 0; n < N; n++) {
            total += (double) losses[n] * (weights == null ? 1.0 : weights[n]);
        }
        return total;
    }

    /** Σ weights over rows whose target is not ignored: the divisor of the mean loss. */
    public static double normalizer(int[] targets, float[] weights, int N, int ignoreIndex) {
        double w = 0;
        for (int n = 0; n < N; n++) {
            if (targets[n] != ignoreIndex) {
                w += weights == null ? 1.0 : weights[n];
            }
        }
        return w;
    }

    /**
     * dlogits[n, j] = scale·w_n·(p_j − (1−ε)·[j = t] − ε/V); rows with an ignored target get 0. dlogits may be
     * the logits array itself.
     */
    public static void backward(float[] dlogits, float[] logits, float[] lse, int[] targets, float[] weights,
                                float scale, int N, int V, float smoothing, int ignoreIndex) {
        Parallel.forEach(N, n -> {
            int row = n * V;
            int t = targets[n];
            if (t == ignoreIndex) {
                java.util.Arrays.fill(dlogits, row, row + V, 0f);
                return;
            }
            float g = scale * (weights == null ? 1f : weights[n]);
            float logZ = lse[n];
            float uniform = smoothing / V;
            int vec = S.loopBound(V);
            for (int j = 0; j < vec; j += S.length()) {
                FloatVector p = ReproducibleMath.exp(FloatVector.fromArray(S, logits, row + j).sub(logZ));
                p.sub(uniform).mul(g).intoArray(dlogits, row + j);
            }
            for (int j = vec; j < V; j++) {
                float p = (float) Math.exp(logits[row + j] - logZ);
                dlogits[row + j] = g * (p - uniform);
            }
            dlogits[row + t] -= g * (1f - smoothing);
        });
    }
}
