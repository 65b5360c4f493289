package dev.lora4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Layer normalisation over the last dimension, forward and backward, as torch.nn.LayerNorm. Rows are reduced
 * with float vectors (as PyTorch's CPU kernel does, in float), then the tails of rows whose width is not a
 * multiple of the vector length one value at a time.
 */
public final class LayerNormKernels {
    private static final VectorSpecies<Float> S = VectorOps.S;
    private static final int L = S.length();

    private LayerNormKernels() {
    }

    /** Normalises each of the N rows of inp over C channels; saves mean and rstd for the backward pass. */
    public static void layerNormForward(float[] out, float[] mean, float[] rstd,      // (N, C), (N), (N)
                                        float[] inp, float[] weight, float[] bias,    // (N, C), (C), (C)
                                        int N, int C, float eps) {
        int bound = S.loopBound(C);
        Parallel.forEach(N, n -> {
            int row = n * C;
            FloatVector vsum = FloatVector.zero(S);
            int c = 0;
            for (; c < bound; c += L) {
                vsum = vsum.add(FloatVector.fromArray(S, inp, row + c));
            }
            float sum = ReproducibleMath.sumLanes(vsum);
            for (; c < C; c++) {
                sum += inp[row + c];
            }
            float m = sum / C;
            FloatVector vm = FloatVector.broadcast(S, m);
            FloatVector vvar = FloatVector.zero(S);
            for (c = 0; c < bound; c += L) {
                FloatVector d = FloatVector.fromArray(S, inp, row + c).sub(vm);
                vvar = d.fma(d, vvar);
            }
            float var = ReproducibleMath.sumLanes(vvar);
            for (; c < C; c++) {
                float d = inp[row + c] - m;
                var += d * d;
            }
            float s = (float) (1.0 / Math.sqrt(var / C + eps));
            FloatVector vs = FloatVector.broadcast(S, s);
            for (c = 0; c < bound; c += L) {
                FloatVector norm = FloatVector.fromArray(S, inp, row + c).sub(vm).mul(vs);
                FloatVector b = bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, c);
                norm.fma(FloatVector.fromArray(S, weight, c), b).intoArray(out, row + c);
            }
            for (; c < C; c++) {
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
        int bound = S.loopBound(C);
        Parallel.forEach(N, n -> {
            int row = n * C;
            float m = mean[n];
            float s = rstd[n];
            FloatVector vm = FloatVector.broadcast(S, m);
            FloatVector vs = FloatVector.broadcast(S, s);
            FloatVector vMean = FloatVector.zero(S);
            FloatVector vNormMean = FloatVector.zero(S);
            int c = 0;
            for (; c < bound; c += L) {
                FloatVector norm = FloatVector.fromArray(S, inp, row + c).sub(vm).mul(vs);
                FloatVector dnorm = FloatVector.fromArray(S, weight, c).mul(FloatVector.fromArray(S, dout, row + c));
                vMean = vMean.add(dnorm);
                vNormMean = dnorm.fma(norm, vNormMean);
            }
            float dnormMean = ReproducibleMath.sumLanes(vMean);
            float dnormNormMean = ReproducibleMath.sumLanes(vNormMean);
            for (; c < C; c++) {
                float norm = (inp[row + c] - m) * s;
                float dnorm = weight[c] * dout[row + c];
                dnormMean += dnorm;
                dnormNormMean += dnorm * norm;
            }
            float a = dnormMean / C;
            float b = dnormNormMean / C;
            FloatVector va = FloatVector.broadcast(S, a);
            FloatVector vb = FloatVector.broadcast(S, b);
            for (c = 0; c < bound; c += L) {
                FloatVector norm = FloatVector.fromArray(S, inp, row + c).sub(vm).mul(vs);
                FloatVector dnorm = FloatVector.fromArray(S, weight, c).mul(FloatVector.fromArray(S, dout, row + c));
                dnorm.sub(va).sub(norm.mul(vb)).mul(vs).intoArray(dinp, row + c);
            }
            for (; c < C; c++) {
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
