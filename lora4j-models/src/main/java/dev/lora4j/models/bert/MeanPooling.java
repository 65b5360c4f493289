package dev.lora4j.models.bert;

import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

/**
 * sentence-transformers' mean pooling: the average of the token states where the attention mask is 1,
 * Σ_t m_t·h_t / max(Σ_t m_t, 1e-9), giving one (C) embedding per sequence.
 */
public final class MeanPooling {
    private float[] mask;
    private int T;
    private Tensor out;
    private Tensor dh;

    /** Pools hidden (B, T, C) with mask (B, T) (null for all ones) into (B, C). */
    public Tensor forward(Tensor hidden, float[] mask) {
        int B = hidden.dim(0);
        T = hidden.dim(1);
        int C = hidden.dim(2);
        this.mask = mask;
        float[] h = hidden.denseData();
        out = Tensor.reuse(out, Shape.of(B, C)).fill(0f);
        float[] o = out.data();
        for (int b = 0; b < B; b++) {
            float count = Math.max(count(b), 1e-9f);
            for (int t = 0; t < T; t++) {
                float w = weight(b, t) / count;
                for (int c = 0; c < C; c++) {
                    o[b * C + c] += w * h[(b * T + t) * C + c];
                }
            }
        }
        return out;
    }

    /** d(hidden) (B, T, C) from d(pooled) (B, C). */
    public Tensor backward(Tensor dout) {
        int B = dout.dim(0);
        int C = dout.dim(1);
        float[] d = dout.denseData();
        dh = Tensor.reuse(dh, Shape.of(B, T, C));
        float[] g = dh.data();
        for (int b = 0; b < B; b++) {
            float count = Math.max(count(b), 1e-9f);
            for (int t = 0; t < T; t++) {
                float w = weight(b, t) / count;
                for (int c = 0; c < C; c++) {
                    g[(b * T + t) * C + c] = w * d[b * C + c];
                }
            }
        }
        return dh;
    }

    private float weight(int b, int t) {
        return mask == null ? 1f : mask[b * T + t];
    }

    private float count(int b) {
        float n = 0;
        for (int t = 0; t < T; t++) {
            n += weight(b, t);
        }
        return n;
    }
}
