package dev.lora4j.nn;

import dev.lora4j.kernels.Attention;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

/**
 * The parameter-free core of multi-head attention: softmax(q·kᵀ/√hs + mask)·v over {@code nHead} heads.
 * Projections live in the model (GPT-2's fused c_attn, BERT's query/key/value, diffusers' to_q/to_k/to_v), so
 * LoRA can wrap them; this module only mixes.
 *
 * <p>{@link #forward(Tensor)} takes GPT-2's fused (B, T, 3C) projection and reads q, k and v in place;
 * {@link #forward(Tensor, Tensor, Tensor, float[])} takes separate (B, T, C) and (B, S, C) tensors and an
 * optional (B, S) key padding mask (1 = attend, 0 = padding).
 */
public final class MultiHeadAttention extends Module {
    private final int nHead;
    private final boolean causal;
    private Tensor q;
    private Tensor k;
    private Tensor v;
    private boolean fused;
    private int B;
    private int T;
    private int S;
    private int C;
    private float[] att = new float[0];   // (B, nHead, T, S)
    private Tensor out;
    private Tensor dqkv;                  // (B, T, 3C) when fused
    private Tensor dq;
    private Tensor dk;
    private Tensor dv;

    /** Attention over {@code nHead} heads, causal (decoder) or not (encoder). */
    public MultiHeadAttention(int nHead, boolean causal) {
        if (nHead <= 0) {
            throw new IllegalArgumentException("MultiHeadAttention: nHead must be positive, got " + nHead);
        }
        this.nHead = nHead;
        this.causal = causal;
    }

    /** Fused self-attention: qkv (B, T, 3C) → (B, T, C). */
    @Override
    public Tensor forward(Tensor qkv) {
        if (qkv.rank() != 3 || qkv.dim(2) % 3 != 0) {
            throw new IllegalArgumentException("MultiHeadAttention: fused input must be (B, T, 3C), got " + qkv.shape());
        }
        Tensor x = qkv.contiguous().toF32();
        int c = x.dim(2) / 3;
        Tensor result = run(x.narrow(2, 0, c), x.narrow(2, c, c), x.narrow(2, 2 * c, c), null);
        fused = true;
        return result;
    }

    /**
     * Attention with separate projections: q (B, T, C), k and v (B, S, C), keyMask (B, S) or null.
     *
     * @throws IllegalArgumentException if shapes disagree or C is not divisible by the head count
     */
    public Tensor forward(Tensor q, Tensor k, Tensor v, float[] keyMask) {
        Tensor result = run(readable(q), readable(k), readable(v), keyMask);
        fused = false;
        return result;
    }

    private Tensor run(Tensor q, Tensor k, Tensor v, float[] keyMask) {
        if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3 || q.dim(0) != k.dim(0) || !k.shape().equals(v.shape())
                || q.dim(2) != k.dim(2)) {
            throw new IllegalArgumentException("MultiHeadAttention: expected q (B, T, C), k and v (B, S, C), got "
                    + q.shape() + ", " + k.shape() + ", " + v.shape());
        }
        B = q.dim(0);
        T = q.dim(1);
        S = k.dim(1);
        C = q.dim(2);
        if (C % nHead != 0) {
            throw new IllegalArgumentException("MultiHeadAttention: width " + C + " is not divisible by " + nHead + " heads");
        }
        if (keyMask != null && keyMask.length != B * S) {
            throw new IllegalArgumentException("MultiHeadAttention: key mask has " + keyMask.length
                    + " entries, expected B·S = " + B * S);
        }
        this.q = q;
        this.k = k;
        this.v = v;
        int hs = C / nHead;
        if (att.length != B * nHead * T * S) {
            att = new float[B * nHead * T * S];
        }
        out = Tensor.reuse(out, Shape.of(B, T, C));
        Attention.forward(rows(out), att, rows(q), rows(k), rows(v), keyMask, causal, B, T, S, nHead, hs,
                (float) (1.0 / Math.sqrt(hs)));
        return out;
    }

    /** Gradient of the fused input (B, T, 3C) after {@link #forward(Tensor)}. */
    @Override
    public Tensor backward(Tensor dout) {
        if (!fused) {
            throw new IllegalStateException("MultiHeadAttention.backward(dout) follows the fused forward; use backwardSeparate");
        }
        dqkv = Tensor.reuse(dqkv, Shape.of(B, T, 3 * C));
        runBackward(dout, dqkv.narrow(2, 0, C), dqkv.narrow(2, C, C), dqkv.narrow(2, 2 * C, C));
        return dqkv;
    }

    /** Gradients of q, k and v, in that order, after {@link #forward(Tensor, Tensor, Tensor, float[])}. */
    public Tensor[] backwardSeparate(Tensor dout) {
        dq = Tensor.reuse(dq, Shape.of(B, T, C));
        dk = Tensor.reuse(dk, Shape.of(B, S, C));
        dv = Tensor.reuse(dv, Shape.of(B, S, C));
        runBackward(dout, dq, dk, dv);
        return new Tensor[] {dq, dk, dv};
    }

    private void runBackward(Tensor dout, Tensor dqOut, Tensor dkOut, Tensor dvOut) {
        Tensor d = dout.contiguous();
        if (!d.shape().equals(Shape.of(B, T, C))) {
            throw new IllegalArgumentException("MultiHeadAttention.backward: gradient shape " + d.shape()
                    + ", expected " + Shape.of(B, T, C));
        }
        int hs = C / nHead;
        Attention.backward(rows(dqOut), rows(dkOut), rows(dvOut), rows(d), att, rows(q), rows(k), rows(v), causal,
                B, T, S, nHead, hs, (float) (1.0 / Math.sqrt(hs)));
    }

    /** The row view of a float32 (B, T, C) tensor whose rows are contiguous (any row and batch strides). */
    private static Attention.Rows rows(Tensor t) {
        if (t.stride(2) != 1) {
            throw new IllegalArgumentException("MultiHeadAttention: tensor " + t.shape() + " has an unsupported layout");
        }
        return new Attention.Rows(t.data(), t.offset(), t.stride(1), t.stride(0));
    }

    // Views with contiguous rows (a slice of a fused qkv, a KV cache prefix) are read in place; other layouts and
    // 16-bit tensors are copied to float32.
    private static Tensor readable(Tensor t) {
        return t.dtype() == dev.lora4j.tensor.DType.F32 && t.stride(2) == 1 ? t : t.to(dev.lora4j.tensor.DType.F32);
    }

    @Override
    protected String extraRepr() {
        return "num_heads=" + nHead + ", causal=" + (causal ? "True" : "False");
    }
}
