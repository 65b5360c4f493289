package dev.lora4j.kernels;

/**
 * Multi-head scaled dot-product attention, forward and backward, for self- and cross-attention.
 *
 * <p>Queries, keys and values are rows of (B, T, …) arrays with their own row strides and offsets, so GPT-2's
 * fused (B, T, 3C) c_attn output is read in place (q at offset 0, k at C, v at 2C, row stride 3C) and BERT's
 * separate projections with stride C. Head h of a row is the {@code hs} values at column h·hs. Each (batch, head)
 * pair is independent; they are spread over {@link Parallel}. A task packs each of its heads' operands once,
 * keys and values (and in the backward pass the gradient and queries) into the panels that {@link PanelGemm}
 * multiplies against, with the softmax scale folded into the keys, and the queries (and gradient) as plain
 * head-major rows, and then runs every product of the head on its own thread (reading the queries in place
 * instead of from the copy: GPT-2 0.88-0.93×). With many sequences (a batch that gives
 * every thread several), a task takes a whole sequence and packs all its heads a row at a time. The
 * probabilities are made in a block of the thread's own, which stays in L1 for the product with v, and copied
 * out to att: written straight into att, whose lines are not in any cache yet, the products ran at half speed.
 * Against {@link Gemm} for each product (which packs both operands each time, a causal part's keys included):
 * MiniLM's forward and backward 1.23× and 1.25×, GPT-2's 1.34× and 1.48×, in-process.
 *
 * <p>Masks: {@code causal} lets query i see keys j ≤ i + (S − T), which is ordinary causal attention when
 * T = S and the right rule for decoding with a KV cache of S − T earlier positions. {@code keyMask} (B, S) hides
 * keys whose entry is 0 (padding), as Hugging Face's attention_mask.
 */
public final class Attention {
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> PANELS = ThreadLocal.withInitial(() -> new float[0]);
    /** Most floats a task packs for one sequence (4 MB). */
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

    /** How an operand is laid out for the products: B panels of x or of xᵀ, or x's rows head by head (an A). */
    private enum Layout { TRANSPOSED, PANELS, ROWS }

    /**
     * The operands of a task's products, laid out for each of its heads, one head after another: each operand
     * is the rows of a sequence's head, packed as B panels as they are or transposed, times a scale, or copied
     * as plain rows. Done a row at a time across all of the task's heads, so that each row of the operand is
     * read once, from front to back: a task per head that reads an hs-wide piece of every row is not followed by
     * the hardware prefetcher (MiniLM's 32 × 64 batch: 1.2–1.3× faster with whole rows).
     */
    private record Packed(float[] panels, int[] offsets, int perHead) {
        static Packed of(Rows[] xs, Layout[] layouts, float[] scales, int[] rows, int b, int h0, int n, int hs) {
            int[] offsets = new int[xs.length];
            int perHead = 0;
            for (int o = 0; o < xs.length; o++) {
                offsets[o] = perHead;
                perHead += switch (layouts[o]) {
                    case TRANSPOSED -> PanelGemm.size(hs, rows[o]);
                    case PANELS -> PanelGemm.size(rows[o], hs);
                    case ROWS -> rows[o] * hs;
                };
            }
            float[] panels = buffer(PANELS, n * perHead);
            for (int o = 0; o < xs.length; o++) {
                Rows x = xs[o];
                for (int i = 0; i < n && layouts[o] == Layout.TRANSPOSED; i++) {
                    PanelGemm.clearColumns(panels, i * perHead + offsets[o], hs, rows[o]);
                }
                for (int t = 0; t < rows[o]; t++) {
                    for (int i = 0; i < n; i++) {
                        int base = i * perHead + offsets[o], src = x.at(b, t, (h0 + i) * hs);
                        switch (layouts[o]) {
                            case TRANSPOSED -> PanelGemm.putColumn(x.data(), src, hs, scales[o], panels, base, hs, t);
                            case PANELS -> PanelGemm.putRow(x.data(), src, hs, scales[o], panels, base, rows[o], t);
                            case ROWS -> System.arraycopy(x.data(), src, panels, base + t * hs, hs);
                        }
                    }
                }
            }
            return new Packed(panels, offsets, perHead);
        }

        // Where operand o of the task's head i starts.
        int at(int i, int o) {
            return i * perHead + offsets[o];
        }
    }

    // A task per sequence when that still gives every thread several tasks and its packing is of bounded size:
    // per head kᵀ or vᵀ and k or v as panels, q's rows, and in the backward pass two more T-row panels.
    static boolean wholeSequences(int B, int T, int S, int NH, int hs, boolean backward) {
        long perHead = PanelGemm.size(hs, S) + PanelGemm.size(S, hs) + (long) T * hs
                + (backward ? 2L * PanelGemm.size(T, hs) : 0);
        return B >= 4 * Parallel.threads() && perHead * NH <= MAX_STAGED;
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
            // kᵀ·scale (hs × S) and v (S × hs) for each head, the B operands of scores and out, and q's rows
            Packed kv = Packed.of(new Rows[]{k, v, q}, new Layout[]{Layout.TRANSPOSED, Layout.PANELS, Layout.ROWS},
                    new float[]{scale, 1f, 1f}, new int[]{S, S, T}, b, h0, n, hs);
            float[] panels = kv.panels();
            int parts = causal ? causalParts(T) : 1;
            float[] probs = buffer(SCRATCH, T * S);
            for (int i = 0; i < n; i++) {
                int h = h0 + i;
                int attOff = (b * NH + h) * T * S;
                for (int p = 0; p < parts; p++) {
                    int t0 = Gemm.partStart(T, p, parts, 1, T), t1 = Gemm.partStart(T, p + 1, parts, 1, T);
                    int keys = visibleKeys(causal, t1, T, S);
                    // scores = q·kᵀ·scale  (t1 − t0, keys), the probabilities made from them in the thread's own
                    // block, which stays in L1 for the product with v, and then copied out to att, a row at a time
                    PanelGemm.multiply(t1 - t0, keys, hs, panels, kv.at(i, 2) + t0 * hs, hs, 1,
                            panels, kv.at(i, 0), hs, probs, 0, S);
                    for (int t = t0; t < t1; t++) {
                        int row = (t - t0) * S;
                        java.util.Arrays.fill(probs, row + (causal ? Math.min(S, t + (S - T) + 1) : keys), row + S,
                                Float.NEGATIVE_INFINITY);
                        for (int s : padding[b]) {
                            probs[row + s] = Float.NEGATIVE_INFINITY;
                        }
                        Softmax.softmaxInPlace(probs, row, S);
                        System.arraycopy(probs, row, att, attOff + t * S, S);
                    }
                    // out = att·v  (t1 − t0, hs), over the keys these rows see
                    PanelGemm.multiply(t1 - t0, hs, keys, probs, 0, S, 1, panels, kv.at(i, 1), S,
                            out.data(), out.at(b, t0, h * hs), out.stride());
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
            // vᵀ (hs × S), k·scale (S × hs), dout (T × hs) and q·scale (T × hs) for each head, and dout's rows
            Packed ops = Packed.of(new Rows[]{v, k, dout, q, dout},
                    new Layout[]{Layout.TRANSPOSED, Layout.PANELS, Layout.PANELS, Layout.PANELS, Layout.ROWS},
                    new float[]{1f, scale, 1f, scale, 1f}, new int[]{S, S, T, T, T}, b, h0, n, hs);
            float[] panels = ops.panels();
            float[] datt = buffer(SCRATCH, T * S);
            int parts = causal ? causalParts(T) : 1;
            for (int i = 0; i < n; i++) {
                int h = h0 + i;
                int attOff = (b * NH + h) * T * S;
                for (int p = 0; p < parts; p++) {
                    int t0 = Gemm.partStart(T, p, parts, 1, T), t1 = Gemm.partStart(T, p + 1, parts, 1, T);
                    int keys = visibleKeys(causal, t1, T, S);
                    // datt = dout·vᵀ  (t1 − t0, keys), then through the softmax
                    PanelGemm.multiply(t1 - t0, keys, hs, panels, ops.at(i, 4) + t0 * hs, hs, 1,
                            panels, ops.at(i, 0), hs, datt, t0 * S, S);
                    for (int t = t0; t < t1; t++) {
                        Softmax.backwardRow(datt, t * S, att, attOff + t * S, datt, t * S, keys);
                    }
                    // dq = datt·k·scale  (t1 − t0, hs)
                    PanelGemm.multiply(t1 - t0, hs, keys, datt, t0 * S, S, 1, panels, ops.at(i, 1), S,
                            dq.data(), dq.at(b, t0, h * hs), dq.stride());
                }
                for (int p = 0; p < parts; p++) {
                    // The keys first seen by part p's rows are seen by no earlier row: dv = attᵀ·dout and
                    // dk = dattᵀ·q·scale for them sum over the rows from part p on, read down att's columns.
                    int t0 = Gemm.partStart(T, p, parts, 1, T);
                    int s0 = p == 0 ? 0 : visibleKeys(causal, t0, T, S);
                    int s1 = visibleKeys(causal, Gemm.partStart(T, p + 1, parts, 1, T), T, S);
                    PanelGemm.multiply(s1 - s0, hs, T - t0, att, attOff + t0 * S + s0, 1, S,
                            panels, ops.at(i, 2) + t0 * PanelGemm.NR, T, dv.data(), dv.at(b, s0, h * hs), dv.stride());
                    PanelGemm.multiply(s1 - s0, hs, T - t0, datt, t0 * S + s0, 1, S,
                            panels, ops.at(i, 3) + t0 * PanelGemm.NR, T, dk.data(), dk.at(b, s0, h * hs), dk.stride());
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
