package dev.lora4j.kernels;

/** Layer normalisation over the last dimension, forward and backward, as torch.nn.LayerNorm. */
public final class LayerNormKernels {
    private LayerNormKernels() {
    }

    /** Normalises each of the N rows of inp over C channels; saves mean and rstd for the backward pass. */
    public static void layerNormForward(float[] out, float[] mean, float[] rstd,      // (N, C), (N), (N)
                                        float[] inp, float[] weight, float[] bias,    // (N, C), (C), (C)
                                        int N, int C, float eps) {
        Parallel.forEach(N, n -> {
            int row = n * C;
            double sum = 0;
            for (int c = 0; c < C; c++) {
                sum += inp[row + c];
            }
            float m = (float) (sum / C);
            double var = 0;
            for (int c = 0; c < C; c++) {
                float d = inp[row + c] - m;
                var += d * d;
            }
            float s = (float) (1.0 / Math.sqrt(var / C + eps));
            for (int c = 0; c < C; c++) {
                float norm = (inp[row + c] - m) * s;
                out[row + c] = norm * weight[c] + (bias == null ? 0f : bias[c]);
            }
            mean[n] = m;
            rstd[n] = s;
        });
    }

    /**
     * Adds the gradients of weight and bias into dweight and dbias and writes the gradient of the input into dinp.
     * dweight or dbias may be null when that parameter is frozen.
     */
    public static void layerNormBackward(float[] dinp, float[] dweight, float[] dbias,          // (N, C), (C), (C)
                                         float[] dout, float[] inp, float[] weight,            // (N, C), (N, C), (C)
                                         float[] mean, float[] rstd, int N, int C) {           // (N), (N)
        Parallel.forEach(N, n -> {
            int row = n * C;
            float m = mean[n];
            float s = rstd[n];
            double dnormMean = 0;
            double dnormNormMean = 0;
            for (int c = 0; c < C; c++) {
                float norm = (inp[row + c] - m) * s;
                float dnorm = weight[c] * dout[row + c];
                dnormMean += dnorm;
                dnormNormMean += dnorm * norm;
            }
            float a = (float) (dnormMean / C);
            float b = (float) (dnormNormMean / C);
            for (int c = 0; c < C; c++) {
                float norm = (inp[row + c] - m) * s;
                float dnorm = weight[c] * dout[row + c];
                dinp[row + c] = (dnorm - a - norm * b) * s;
            }
        });
        // Parameter gradients reduce over rows: one pass per channel block keeps threads off each other's sums.
        if (dweight != null || dbias != null) {
            int blocks = Math.min(C, Parallel.threads() * 4);
            Parallel.forEach(blocks, blk -> {
                int c0 = (int) ((long) C * blk / blocks);
                int c1 = (int) ((long) C * (blk + 1) / blocks);
                for (int n = 0; n < N; n++) {
                    int row = n * C;
                    float m = mean[n];
                    float s = rstd[n];
                    for (int c = c0; c < c1; c++) {
                        if (dweight != null) {
                            dweight[c] += (inp[row + c] - m) * s * dout[row + c];
                        }
                        if (dbias != null) {
                            dbias[c] += dout[row + c];
                        }
                    }
                }
            });
        }
    }
}
