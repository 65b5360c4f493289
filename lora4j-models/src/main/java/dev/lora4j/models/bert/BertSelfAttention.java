package dev.lora4j.models.bert;

import dev.lora4j.nn.Linear;
import dev.lora4j.nn.MultiHeadAttention;
import dev.lora4j.tensor.Tensor;

/**
 * BertSelfAttention: query, key and value projections (Linear, C → C) and attention over the heads with the
 * padding mask; no output projection (that is {@link BertResidualOutput}). Projections are called through
 * {@link #child} so LoRA can wrap them.
 */
public final class BertSelfAttention extends FamilyModule {
    private final MultiHeadAttention attention;
    private float[] keyMask;
    private Tensor dx;

    BertSelfAttention(BertConfig c, long seed) {
        super(c, "SelfAttention");
        registerModule("query", new Linear(c.hiddenSize(), c.hiddenSize(), true, seed));
        registerModule("key", new Linear(c.hiddenSize(), c.hiddenSize(), true, seed + 1));
        registerModule("value", new Linear(c.hiddenSize(), c.hiddenSize(), true, seed + 2));
        attention = new MultiHeadAttention(c.numAttentionHeads(), false);
    }

    /** The (B, T) attention mask, 1 for tokens and 0 for padding, used by the next forward; null attends to all. */
    void setMask(float[] mask) {
        keyMask = mask;
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor q = child("query").forward(x);
        Tensor k = child("key").forward(x);
        Tensor v = child("value").forward(x);
        return attention.forward(q, k, v, keyMask);
    }

    @Override
    public Tensor backward(Tensor dout) {
        Tensor[] g = attention.backwardSeparate(dout);
        dx = Tensor.reuse(dx, g[0].shape()).setSum(child("query").backward(g[0]), child("key").backward(g[1]))
                .addInPlace(child("value").backward(g[2]));
        return dx;
    }

    @Override
    public void backwardParametersOnly(Tensor dout) {
        if (!hasTrainableParameters()) {
            return;
        }
        Tensor[] g = attention.backwardSeparate(dout);
        child("query").backwardParametersOnly(g[0]);
        child("key").backwardParametersOnly(g[1]);
        child("value").backwardParametersOnly(g[2]);
    }
}
