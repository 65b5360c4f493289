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
        int[] rows = scoredRows(targets, N, V, ignoreIndex);
        for (int n = 0; n < N; n++) {
            losses[n] = 0f;   // the ignored rows' values; the scored rows' are written below
            lse[n] = 0f;
        }
        Parallel.forEach(rows.length, i -> {
            int n = rows[i], t = targets[n];
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

    /**
     * The rows whose target is not ignored, in order. The vector loops run over these alone: a branch for
     * ignored rows inside them was seldom taken while C2 profiled it (a causal LM's only ignored targets are the
     * last of each sequence), so the first ignored row sent C2's code back to the interpreter, where the Vector
     * API allocates every vector, until it had compiled them again (GPT-2's bench: seconds, 19 MB a step).
     *
     * @throws IllegalArgumentException if a target is outside [0, V) and not ignoreIndex
     */
    private static int[] scoredRows(int[] targets, int N, int V, int ignoreIndex) {
        int[] rows = new int[N];
        int count = 0;
        for (int n = 0; n < N; n++) {
            int t = targets[n];
            if (t == ignoreIndex) {
                continue;
            }
            if (t < 0 || t >= V) {
                throw new IllegalArgumentException("cross_entropy: target " + t + " at row " + n
                        + " is outside [0, " + V + ") and is not the ignore index " + ignoreIndex);
            }
            rows[count++] = n;
        }
        return count == N ? rows : java.util.Arrays.copyOf(rows, count);
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
        int[] rows = scoredRows(targets, N, V, ignoreIndex);
        if (rows.length < N) {
            Parallel.forEach(N, n -> {
                if (targets[n] == ignoreIndex) {
                    java.util.Arrays.fill(dlogits, n * V, n * V + V, 0f);
                }
            });
        }
        Parallel.forEach(rows.length, i -> {
            int n = rows[i], row = n * V, t = targets[n];
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
