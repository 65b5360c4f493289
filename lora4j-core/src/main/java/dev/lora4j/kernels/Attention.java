package dev.lora4j.kernels;

/**
 * Multi-head scaled dot-product attention, forward and backward, for self- and cross-attention.
 *
 * <p>Queries, keys and values are rows of (B, T, …) arrays with their own row strides and offsets, so GPT-2's
 * fused (B, T, 3C) c_attn output is read in place (q at offset 0, k at C, v at 2C, row stride 3C) and BERT's
 * separate projections with stride C. Head h of a row is the {@code hs} values at column h·hs. Each (batch, head)
 * pair is independent; they are spread over {@link Parallel}, and each runs its matrix products with
 * {@link Gemm} on its own thread.
 *
 * <p>Masks: {@code causal} lets query i see keys j ≤ i + (S − T), which is ordinary causal attention when
 * T = S and the right rule for decoding with a KV cache of S − T earlier positions. {@code keyMask} (B, S) hides
 * keys whose entry is 0 (padding), as Hugging Face's attention_mask.
 */
public final class Attention {
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private Attention() {
    }

    /**
     * Row layout of one operand: array, offset of (batch 0, position 0, column 0), row stride, and the distance
     * between sequences (so a view into a larger buffer, such as a KV cache, needs no copy).
     */
    public record Rows(float[] data, int offset, int stride, int batchStride) {
        int at(int b, int t, int col) {
            return offset + b * batchStride + t * stride + col;
        }
    }

    /**
     * out = softmax(q·kᵀ·scale + mask)·v per head; saves the probabilities in att for the backward pass.
     *
     * @param out  (B, T, NH·hs) rows
     * @param att  (B, NH, T, S) probabilities, written
     * @param q    (B, T, ≥NH·hs) rows
     * @param k    (B, S, ≥NH·hs) rows
     * @param v    (B, S, ≥NH·hs) rows
     * @param keyMask (B, S) with 0 for padding, or null
     */
    public static void forward(Rows out, float[] att, Rows q, Rows k, Rows v, float[] keyMask, boolean causal,
                               int B, int T, int S, int NH, int hs, float scale) {
        if (causal && S < T) {
            throw new IllegalArgumentException("attention: causal mask needs at least as many keys (" + S
                    + ") as queries (" + T + ")");
        }
        int[][] padding = paddingPositions(keyMask, B, S);
        Parallel.forEach(B * NH, bh -> {
            int b = bh / NH;
            int h = bh % NH;
            int attOff = bh * T * S;
            // scores = q·kᵀ·scale  (T, S)
            Gemm.sgemm(false, true, T, S, hs, scale, q.data(), q.at(b, 0, h * hs), q.stride(),
                    k.data(), k.at(b, 0, h * hs), k.stride(), 0f, att, attOff, S);
            for (int t = 0; t < T; t++) {
                int row = attOff + t * S;
                if (causal) {
                    java.util.Arrays.fill(att, row + Math.min(S, t + (S - T) + 1), row + S, Float.NEGATIVE_INFINITY);
                }
                for (int s : padding[b]) {
                    att[row + s] = Float.NEGATIVE_INFINITY;
                }
                Softmax.softmaxInPlace(att, row, S);
            }
            // out = att·v  (T, hs)
            Gemm.sgemm(false, false, T, hs, S, 1f, att, attOff, S, v.data(), v.at(b, 0, h * hs), v.stride(),
                    0f, out.data(), out.at(b, 0, h * hs), out.stride());
        });
    }

    /**
     * Writes the gradients of q, k and v (overwriting their head columns) from dout and the saved probabilities.
     * dq, dk and dv may be regions of one fused (B, T, 3C) array.
     */
    public static void backward(Rows dq, Rows dk, Rows dv, Rows dout, float[] att, Rows q, Rows k, Rows v,
                                int B, int T, int S, int NH, int hs, float scale) {
        Parallel.forEach(B * NH, bh -> {
            int b = bh / NH;
            int h = bh % NH;
            int attOff = bh * T * S;
            float[] datt = scratch(T * S);
            // dv = attᵀ·dout  (S, hs)
            Gemm.sgemm(true, false, S, hs, T, 1f, att, attOff, S, dout.data(), dout.at(b, 0, h * hs),
                    dout.stride(), 0f, dv.data(), dv.at(b, 0, h * hs), dv.stride());
            // datt = dout·vᵀ  (T, S), then through the softmax
            Gemm.sgemm(false, true, T, S, hs, 1f, dout.data(), dout.at(b, 0, h * hs), dout.stride(),
                    v.data(), v.at(b, 0, h * hs), v.stride(), 0f, datt, 0, S);
            for (int t = 0; t < T; t++) {
                Softmax.backwardRow(datt, t * S, att, attOff + t * S, datt, t * S, S);
            }
            // dq = datt·k·scale (T, hs); dk = dattᵀ·q·scale (S, hs)
            Gemm.sgemm(false, false, T, hs, S, scale, datt, 0, S, k.data(), k.at(b, 0, h * hs), k.stride(),
                    0f, dq.data(), dq.at(b, 0, h * hs), dq.stride());
            Gemm.sgemm(true, false, S, hs, T, scale, datt, 0, S, q.data(), q.at(b, 0, h * hs), q.stride(),
                    0f, dk.data(), dk.at(b, 0, h * hs), dk.stride());
        });
    }

    // The key positions of each sequence whose mask entry is 0, so that masking a row touches only those.
    private static int[][] paddingPositions(float[] keyMask, int B, int S) {
        int[][] out = new int[B][];
        for (int b = 0; b < B; b++) {
            int count = 0;
            for (int s = 0; keyMask != null && s < S; s++) {
                count += keyMask[b * S + s] == 0f ? 1 : 0;
            }
            out[b] = new int[count];
            for (int s = 0, i = 0; i < count; s++) {
                if (keyMask[b * S + s] == 0f) {
                    out[b][i++] = s;
                }
            }
        }
        return out;
    }

    private static float[] scratch(int n) {
        float[] s = SCRATCH.get();
        if (s.length < n) {
            s = new float[n];
            SCRATCH.set(s);
        }
        return s;
    }
}
