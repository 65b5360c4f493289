package dev.lora4j.kernels;

/**
 * Multi-head scaled dot-product attention, forward and backward, for self- and cross-attention.
 *
 * <p>Queries, keys and values are rows of (B, T, …) arrays with their own row strides and offsets, so GPT-2's
 * fused (B, T, 3C) c_attn output is read in place (q at offset 0, k at C, v at 2C, row stride 3C) and BERT's
 * separate projections with stride C. Head h of a row is the {@code hs} values at column h·hs. Each (batch, head)
 * pair is independent; they are spread over {@link Parallel}, and each runs its matrix products with
 * {@link Gemm} on its own thread. With many sequences (a batch that gives every thread several), a task takes a
 * whole sequence instead: it first copies the sequence's rows, all heads, into a head-major block of its own,
 * reading each row once from front to back, where a task per head reads an hs-wide piece of every row, which
 * the hardware prefetcher does not follow (MiniLM's 32 × 64 batch: forward and backward 1.2–1.3× faster).
 *
 * <p>Masks: {@code causal} lets query i see keys j ≤ i + (S − T), which is ordinary causal attention when
 * T = S and the right rule for decoding with a KV cache of S − T earlier positions. {@code keyMask} (B, S) hides
 * keys whose entry is 0 (padding), as Hugging Face's attention_mask.
 */
public final class Attention {
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> STAGE = ThreadLocal.withInitial(() -> new float[0]);
    /** Most floats a task copies for one sequence (4 MB). */
    private static final int MAX_STAGED = 1 << 20;

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

    // The heads [h0, h0 + n) of `rows` positions of one sequence: head i's (rows, hs) block starts at
    // base + i·headStep, its rows ld apart; in place in the operand, or copied head-major into a task's own block.
    private record Heads(float[] data, int base, int headStep, int ld) {
        int at(int i) {
            return base + i * headStep;
        }

        static Heads inPlace(Rows x, int b, int h0, int hs) {
            return new Heads(x.data(), x.at(b, 0, h0 * hs), hs, x.stride());
        }

        static Heads staged(Rows x, int b, int rows, int n, int hs, float[] st, int off) {
            for (int t = 0; t < rows; t++) {
                int src = x.at(b, t, 0);
                for (int i = 0; i < n; i++) {
                    System.arraycopy(x.data(), src + i * hs, st, off + (i * rows + t) * hs, hs);
                }
            }
            return new Heads(st, off, rows * hs, hs);
        }
    }

    // The heads a task works on, of each operand (rows[i] positions of xs[i]): all of sequence b's, copied
    // head-major one operand after another into the thread's staging block, or head h0 in place.
    private static Heads[] taskHeads(boolean whole, int b, int h0, int NH, int hs, Rows[] xs, int... rows) {
        Heads[] heads = new Heads[xs.length];
        float[] st = whole ? buffer(STAGE, java.util.Arrays.stream(rows).sum() * NH * hs) : null;
        for (int i = 0, off = 0; i < xs.length; off += rows[i] * NH * hs, i++) {
            heads[i] = whole ? Heads.staged(xs[i], b, rows[i], NH, hs, st, off) : Heads.inPlace(xs[i], b, h0, hs);
        }
        return heads;
    }

    // A task per sequence when that still gives every thread several tasks and the copy is of bounded size.
    static boolean wholeSequences(int B, int T, int S, int NH, int hs, boolean backward) {
        long staged = (long) (backward ? 2 * T + 2 * S : T + 2 * S) * NH * hs;
        return B >= 4 * Parallel.threads() && staged <= MAX_STAGED;
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
        forward(out, att, q, k, v, keyMask, causal, B, T, S, NH, hs, scale, wholeSequences(B, T, S, NH, hs, false));
    }

    static void forward(Rows out, float[] att, Rows q, Rows k, Rows v, float[] keyMask, boolean causal,
                        int B, int T, int S, int NH, int hs, float scale, boolean whole) {
        if (causal && S < T) {
            throw new IllegalArgumentException("attention: causal mask needs at least as many keys (" + S
                    + ") as queries (" + T + ")");
        }
        int[][] padding = paddingPositions(keyMask, B, S);
        Parallel.forEach(whole ? B : B * NH, task -> {
            int b = whole ? task : task / NH;
            int h0 = whole ? 0 : task % NH, n = whole ? NH : 1;
            Heads[] heads = taskHeads(whole, b, h0, NH, hs, new Rows[]{q, k, v}, T, S, S);
            Heads hq = heads[0], hk = heads[1], hv = heads[2];
            int parts = causal ? causalParts(T) : 1;
            for (int i = 0; i < n; i++) {
                int h = h0 + i;
                int attOff = (b * NH + h) * T * S;
                for (int p = 0; p < parts; p++) {
                    int t0 = Gemm.partStart(T, p, parts, 1, T), t1 = Gemm.partStart(T, p + 1, parts, 1, T);
                    int keys = visibleKeys(causal, t1, T, S);
                    // scores = q·kᵀ·scale  (t1 − t0, keys): the keys that no query of these rows sees stay unwritten
                    Gemm.sgemm(false, true, t1 - t0, keys, hs, scale, hq.data(), hq.at(i) + t0 * hq.ld(), hq.ld(),
                            hk.data(), hk.at(i), hk.ld(), 0f, att, attOff + t0 * S, S);
                    for (int t = t0; t < t1; t++) {
                        int row = attOff + t * S;
                        if (causal) {
                            java.util.Arrays.fill(att, row + Math.min(S, t + (S - T) + 1), row + S,
                                    Float.NEGATIVE_INFINITY);
                        }
                        for (int s : padding[b]) {
                            att[row + s] = Float.NEGATIVE_INFINITY;
                        }
                        Softmax.softmaxInPlace(att, row, S);
                    }
                    // out = att·v  (t1 − t0, hs), over the keys these rows see
                    Gemm.sgemm(false, false, t1 - t0, hs, keys, 1f, att, attOff + t0 * S, S,
                            hv.data(), hv.at(i), hv.ld(), 0f, out.data(), out.at(b, t0, h * hs), out.stride());
                }
            }
        });
    }

    /**
     * Writes the gradients of q, k and v (overwriting their head columns) from dout and the saved probabilities.
     * dq, dk and dv may be regions of one fused (B, T, 3C) array. {@code causal} must be what the forward pass
     * was given: it lets the products skip keys that the saved probabilities give no weight anyway.
     */
    public static void backward(Rows dq, Rows dk, Rows dv, Rows dout, float[] att, Rows q, Rows k, Rows v,
                                boolean causal, int B, int T, int S, int NH, int hs, float scale) {
        backward(dq, dk, dv, dout, att, q, k, v, causal, B, T, S, NH, hs, scale,
                wholeSequences(B, T, S, NH, hs, true));
    }

    static void backward(Rows dq, Rows dk, Rows dv, Rows dout, float[] att, Rows q, Rows k, Rows v, boolean causal,
                         int B, int T, int S, int NH, int hs, float scale, boolean whole) {
        Parallel.forEach(whole ? B : B * NH, task -> {
            int b = whole ? task : task / NH;
            int h0 = whole ? 0 : task % NH, n = whole ? NH : 1;
            Heads[] heads = taskHeads(whole, b, h0, NH, hs, new Rows[]{q, k, v, dout}, T, S, S, T);
            Heads hq = heads[0], hk = heads[1], hv = heads[2], ho = heads[3];
            float[] datt = buffer(SCRATCH, T * S);
            int parts = causal ? causalParts(T) : 1;
            for (int i = 0; i < n; i++) {
                int h = h0 + i;
                int attOff = (b * NH + h) * T * S;
                for (int p = 0; p < parts; p++) {
                    int t0 = Gemm.partStart(T, p, parts, 1, T), t1 = Gemm.partStart(T, p + 1, parts, 1, T);
                    int keys = visibleKeys(causal, t1, T, S);
                    // datt = dout·vᵀ  (t1 − t0, keys), then through the softmax
                    Gemm.sgemm(false, true, t1 - t0, keys, hs, 1f, ho.data(), ho.at(i) + t0 * ho.ld(), ho.ld(),
                            hv.data(), hv.at(i), hv.ld(), 0f, datt, t0 * S, S);
                    for (int t = t0; t < t1; t++) {
                        Softmax.backwardRow(datt, t * S, att, attOff + t * S, datt, t * S, keys);
                    }
                    // dq = datt·k·scale  (t1 − t0, hs)
                    Gemm.sgemm(false, false, t1 - t0, hs, keys, scale, datt, t0 * S, S, hk.data(), hk.at(i), hk.ld(),
                            0f, dq.data(), dq.at(b, t0, h * hs), dq.stride());
                }
                for (int p = 0; p < parts; p++) {
                    // The keys first seen by part p's rows are seen by no earlier row: dv = attᵀ·dout and
                    // dk = dattᵀ·q·scale for them sum over the rows from part p on.
                    int t0 = Gemm.partStart(T, p, parts, 1, T);
                    int s0 = p == 0 ? 0 : visibleKeys(causal, t0, T, S);
                    int s1 = visibleKeys(causal, Gemm.partStart(T, p + 1, parts, 1, T), T, S);
                    Gemm.sgemm(true, false, s1 - s0, hs, T - t0, 1f, att, attOff + t0 * S + s0, S,
                            ho.data(), ho.at(i) + t0 * ho.ld(), ho.ld(), 0f, dv.data(), dv.at(b, s0, h * hs), dv.stride());
                    Gemm.sgemm(true, false, s1 - s0, hs, T - t0, scale, datt, t0 * S + s0, S,
                            hq.data(), hq.at(i) + t0 * hq.ld(), hq.ld(), 0f, dk.data(), dk.at(b, s0, h * hs), dk.stride());
                }
            }
        });
    }

    /**
     * Causal attention runs each head's queries in this many parts of rows (one per 32, at most sixteen): a part
     * multiplies only by the keys its last row sees, so that the products skip most of the masked corner above
     * the diagonal. GPT-2's 128 positions in four parts skip 37.5% of the multiply-adds; against one part,
     * in-process, forward 1.12× and backward 1.18× (two parts of 64 rows gave 1.06× and 1.12×, eight of 16
     * were slower than four).
     */
    static int causalParts(int T) {
        return Math.max(1, Math.min(16, T / 32));
    }

    // How many keys the queries before row t1 see: all S, or under the causal mask those up to t1 − 1 + (S − T).
    private static int visibleKeys(boolean causal, int t1, int T, int S) {
        return causal ? Math.min(S, t1 + S - T) : S;
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

    private static float[] buffer(ThreadLocal<float[]> local, int n) {
        float[] s = local.get();
        if (s.length < n) {
            s = new float[n];
            local.set(s);
        }
        return s;
    }
}
