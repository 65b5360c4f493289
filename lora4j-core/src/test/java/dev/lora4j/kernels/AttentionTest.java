package dev.lora4j.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Both ways of running attention, a task per head and a task per sequence, against the textbook formulas
 * evaluated in double precision, head by head.
 * (The PyTorch fixtures in MultiHeadAttentionTest cover the layer with the choice the kernel makes itself.)
 */
class AttentionTest {
    @ParameterizedTest(name = "B={0} T={1} S={2} heads={3}×{4} causal={5} fused={6} padded={7} whole={8}")
    @CsvSource({
            "9, 7, 7, 3, 4, false, false, true, true",
            "9, 7, 7, 3, 4, false, false, true, false",
            "5, 6, 6, 2, 8, true, true, false, true",      // GPT-2's fused (B, T, 3C) q|k|v rows
            "5, 6, 6, 2, 8, true, true, false, false",
            "4, 5, 9, 3, 8, true, false, true, true",      // decoding with a cache: keys before the queries
            "4, 5, 9, 3, 8, false, false, true, false",
            "2, 130, 130, 2, 8, true, true, true, true",     // causal in four parts of rows (see below)
            "2, 130, 130, 2, 8, true, true, false, false",
            "3, 200, 205, 2, 4, true, false, true, false",   // six parts, with five cached keys before them
            "2, 3, 3, 2, 20, false, false, false, true",     // fewer queries than a tile, heads wider than a panel
    })
    void matchesTheFormulas(int B, int T, int S, int NH, int hs, boolean causal, boolean fused, boolean padded,
                            boolean whole) {
        Random r = new Random(B * 100 + T * 10 + S + (whole ? 1 : 0));
        int C = NH * hs;
        float scale = (float) (1 / Math.sqrt(hs));
        // Operands with offsets and row strides wider than a head's columns, as the layers hand them over.
        int ld = fused ? 3 * C : C + 5;
        float[] qkv = random(r, 3 + B * Math.max(T, S) * ld * (fused ? 1 : 3));
        int seqStride = Math.max(T, S) * ld;
        Attention.Rows q, k, v;
        if (fused) {
            q = new Attention.Rows(qkv, 3, ld, seqStride);
            k = new Attention.Rows(qkv, 3 + C, ld, seqStride);
            v = new Attention.Rows(qkv, 3 + 2 * C, ld, seqStride);
        } else {
            q = new Attention.Rows(qkv, 3, ld, seqStride);
            k = new Attention.Rows(qkv, 3 + B * seqStride, ld, seqStride);
            v = new Attention.Rows(qkv, 3 + 2 * B * seqStride, ld, seqStride);
        }
        float[] keyMask = null;
        if (padded) {
            keyMask = new float[B * S];
            for (int b = 0; b < B; b++) {
                for (int s = 0; s < S; s++) {
                    keyMask[b * S + s] = s < S - b % 3 ? 1f : 0f;   // up to two padding keys at the end
                }
            }
        }
        float[] doutData = random(r, 2 + B * T * C);
        Attention.Rows dout = new Attention.Rows(doutData, 2, C, T * C);

        float[] outData = new float[B * T * C], att = new float[B * NH * T * S];
        Attention.forward(new Attention.Rows(outData, 0, C, T * C), att, q, k, v, keyMask, causal, B, T, S, NH, hs,
                scale, whole);
        float[] dqData = new float[B * T * C], dkData = new float[B * S * C], dvData = new float[B * S * C];
        Attention.backward(new Attention.Rows(dqData, 0, C, T * C), new Attention.Rows(dkData, 0, C, S * C),
                new Attention.Rows(dvData, 0, C, S * C), dout, att, q, k, v, causal, B, T, S, NH, hs, scale, whole);

        float[][] expected = reference(q, k, v, dout, keyMask, causal, B, T, S, NH, hs, scale);
        assertClose(expected[0], outData, 1e-5f, 1e-5f);
        assertClose(expected[1], dqData, 1e-5f, 1e-4f);
        assertClose(expected[2], dkData, 1e-5f, 1e-4f);
        assertClose(expected[3], dvData, 1e-5f, 1e-4f);
    }

    @Test
    void longCausalSequencesRunInPartsOfRows() {
        assertEquals(4, Attention.causalParts(130));
        assertEquals(6, Attention.causalParts(200));
        assertEquals(1, Attention.causalParts(7));
    }

    // out, dq, dk, dv as dense (B, T or S, NH·hs) arrays, from P = softmax(scale·q·kᵀ + mask) and its gradient.
    private static float[][] reference(Attention.Rows q, Attention.Rows k, Attention.Rows v, Attention.Rows dout,
                                       float[] keyMask, boolean causal, int B, int T, int S, int NH, int hs,
                                       float scale) {
        int C = NH * hs;
        float[] out = new float[B * T * C], dq = new float[B * T * C], dk = new float[B * S * C], dv = new float[B * S * C];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                double[][] p = new double[T][S], ds = new double[T][S];
                for (int t = 0; t < T; t++) {
                    double max = Double.NEGATIVE_INFINITY;
                    boolean[] visible = new boolean[S];
                    for (int s = 0; s < S; s++) {
                        visible[s] = !(causal && s > t + (S - T)) && (keyMask == null || keyMask[b * S + s] != 0f);
                        double dot = 0;
                        for (int d = 0; d < hs; d++) {
                            dot += (double) get(q, b, t, h * hs + d) * get(k, b, s, h * hs + d);
                        }
                        p[t][s] = dot * scale;
                        if (visible[s]) {
                            max = Math.max(max, p[t][s]);
                        }
                    }
                    double sum = 0;
                    for (int s = 0; s < S; s++) {
                        p[t][s] = visible[s] ? Math.exp(p[t][s] - max) : 0;
                        sum += p[t][s];
                    }
                    double pdp = 0;
                    double[] dp = new double[S];
                    for (int s = 0; s < S; s++) {
                        p[t][s] /= sum;
                        for (int d = 0; d < hs; d++) {
                            dp[s] += (double) get(dout, b, t, h * hs + d) * get(v, b, s, h * hs + d);
                        }
                        pdp += p[t][s] * dp[s];
                    }
                    for (int s = 0; s < S; s++) {
                        ds[t][s] = p[t][s] * (dp[s] - pdp);
                    }
                }
                for (int d = 0; d < hs; d++) {
                    int col = h * hs + d;
                    for (int t = 0; t < T; t++) {
                        double o = 0, g = 0;
                        for (int s = 0; s < S; s++) {
                            o += p[t][s] * get(v, b, s, col);
                            g += ds[t][s] * get(k, b, s, col);
                        }
                        out[(b * T + t) * C + col] = (float) o;
                        dq[(b * T + t) * C + col] = (float) (g * scale);
                    }
                    for (int s = 0; s < S; s++) {
                        double gk = 0, gv = 0;
                        for (int t = 0; t < T; t++) {
                            gk += ds[t][s] * get(q, b, t, col);
                            gv += p[t][s] * get(dout, b, t, col);
                        }
                        dk[(b * S + s) * C + col] = (float) (gk * scale);
                        dv[(b * S + s) * C + col] = (float) gv;
                    }
                }
            }
        }
        return new float[][] {out, dq, dk, dv};
    }

    private static float get(Attention.Rows x, int b, int t, int col) {
        return x.data()[x.at(b, t, col)];
    }

    private static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }
}
