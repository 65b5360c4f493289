package dev.lora4j.models.gpt2;

import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;

/** A pre-norm transformer block: h = x + attn(ln_1(x)); out = h + mlp(ln_2(h)). */
public final class Gpt2Block extends Module {
    private final LayerNorm ln1;
    private final Gpt2Attention attn;
    private final LayerNorm ln2;
    private final Gpt2Mlp mlp;
    private Tensor h;
    private Tensor out;
    private Tensor dh;
    private Tensor dx;

    /** Block {@code index} of a model with the given config. */
    public Gpt2Block(Gpt2Config config, long seed) {
        ln1 = registerModule("ln_1", new LayerNorm(config.nEmbd(), config.layerNormEpsilon()));
        attn = registerModule("attn", new Gpt2Attention(config, seed));
        ln2 = registerModule("ln_2", new LayerNorm(config.nEmbd(), config.layerNormEpsilon()));
        mlp = registerModule("mlp", new Gpt2Mlp(config, seed + 10));
    }

    @Override
    public Tensor forward(Tensor x) {
        h = Tensor.reuse(h, x.shape()).setSum(x, attn.forward(ln1.forward(x)));
        out = Tensor.reuse(out, x.shape()).setSum(h, mlp.forward(ln2.forward(h)));
        return out;
    }

    /** Inference on new positions with cached keys and values; see {@link Gpt2Attention#forwardCached}. */
    Tensor forwardCached(Tensor x, KvCache.Layer cache, int past) {
        h = Tensor.reuse(h, x.shape()).setSum(x, attn.forwardCached(ln1.forward(x), cache, past));
        out = Tensor.reuse(out, x.shape()).setSum(h, mlp.forward(ln2.forward(h)));
        return out;
    }

    @Override
    public Tensor backward(Tensor dout) {
        dh = Tensor.reuse(dh, dout.shape()).setSum(dout, ln2.backward(mlp.backward(dout)));
        dx = Tensor.reuse(dx, dout.shape()).setSum(dh, ln1.backward(attn.backward(dh)));
        return dx;
    }

    @Override
    public void backwardParametersOnly(Tensor dout) {
        if (!ln1.hasTrainableParameters() && !attn.hasTrainableParameters()) {
            backwardParametersOnly(dout, ln2, mlp);
            return;
        }
        dh = Tensor.reuse(dh, dout.shape()).setSum(dout, ln2.backward(mlp.backward(dout)));
        backwardParametersOnly(dh, ln1, attn);                 // the residual around attn needs no gradient
    }
}
