package dev.lora4j.models.gpt2;

import dev.lora4j.nn.Conv1D;
import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.MultiHeadAttention;
import dev.lora4j.tensor.Tensor;

/**
 * GPT-2's causal self-attention: the fused projection c_attn (C → 3C, Conv1D), attention over n_head heads, and
 * the output projection c_proj, then resid_dropout. Attention-probability dropout (attn_pdrop) is not applied.
 * The projections are called through {@link #child}, so a LoRA wrapper put in their place takes part.
 */
public final class Gpt2Attention extends Module {
    private final MultiHeadAttention attention;   // parameter-free, kept out of the tree to keep HF's names
    private final Dropout residDropout;

    /** An attention block for the given config; weights are loaded afterwards. */
    public Gpt2Attention(Gpt2Config config, long seed) {
        int c = config.nEmbd();
        registerModule("c_attn", new Conv1D(c, 3 * c, seed));
        registerModule("c_proj", new Conv1D(c, c, seed + 1));
        residDropout = registerModule("resid_dropout", new Dropout(config.residPdrop(), seed + 2));
        attention = new MultiHeadAttention(config.nHead(), true);
    }

    @Override
    public Tensor forward(Tensor x) {                       // (B, T, C) -> (B, T, C)
        return residDropout.forward(child("c_proj").forward(attention.forward(child("c_attn").forward(x))));
    }

    /**
     * Inference on new positions x (B, t, C) given the cached keys and values of earlier positions: appends this
     * step's keys and values to {@code cache} and attends over all of them, causally.
     */
    Tensor forwardCached(Tensor x, KvCache.Layer cache, int past) {
        Tensor qkv = child("c_attn").forward(x);
        int c = qkv.dim(2) / 3;
        cache.append(qkv.narrow(2, c, c), qkv.narrow(2, 2 * c, c));
        int s = past + x.dim(1);
        Tensor y = attention.forward(qkv.narrow(2, 0, c), cache.keys(s), cache.values(s), null);
        return residDropout.forward(child("c_proj").forward(y));
    }

    @Override
    public Tensor backward(Tensor dout) {
        return child("c_attn").backward(attention.backward(child("c_proj").backward(residDropout.backward(dout))));
    }

    @Override
    public void backwardParametersOnly(Tensor dout) {
        Module cAttn = child("c_attn");
        if (!cAttn.hasTrainableParameters()) {
            child("c_proj").backwardParametersOnly(residDropout.backward(dout));
            return;
        }
        cAttn.backwardParametersOnly(attention.backward(child("c_proj").backward(residDropout.backward(dout))));
    }
}
