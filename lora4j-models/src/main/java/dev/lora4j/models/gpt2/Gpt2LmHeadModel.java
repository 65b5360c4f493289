package dev.lora4j.models.gpt2;

import dev.lora4j.models.HfModelDir;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Ops;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import java.util.Set;

/**
 * Hugging Face's GPT2LMHeadModel: the transformer under "transformer" and a language-model head that reuses
 * wte's weight (tied), so logits = hidden·wteᵀ and the head's gradient adds into wte's.
 */
public final class Gpt2LmHeadModel extends Module {
    private final Gpt2Model transformer;
    private Tensor hidden;
    private Tensor logits;
    private Tensor dhidden;

    /** A randomly initialised model of the given shape. */
    public Gpt2LmHeadModel(Gpt2Config config, long seed) {
        transformer = registerModule("transformer", new Gpt2Model(config, seed));
    }

    /**
     * A model to pretrain from scratch, initialised as transformers' GPT2PreTrainedModel._init_weights: every
     * weight matrix and embedding ~ N(0, initializer_range), the residual projections (attn.c_proj, mlp.c_proj)
     * ~ N(0, initializer_range / sqrt(2·n_layer)), biases 0, layer norms 1 and 0.
     */
    public static Gpt2LmHeadModel initialised(Gpt2Config config, long seed) {
        Gpt2LmHeadModel model = new Gpt2LmHeadModel(config, seed);
        Random rng = new Random(seed);
        float std = config.initializerRange();
        float residualStd = (float) (std / Math.sqrt(2.0 * config.nLayer()));
        model.namedParameters().forEach((name, p) -> {
            Tensor t = p.value();
            if (name.contains(".ln_")) {
                t.fill(name.endsWith(".weight") ? 1f : 0f);
            } else if (name.endsWith(".bias")) {
                t.fill(0f);
            } else {
                Init.normal(t, 0f, name.endsWith("c_proj.weight") ? residualStd : std, rng);
            }
        });
        return model;
    }

    /** The transformer body. */
    public Gpt2Model transformer() {
        return transformer;
    }

    /** Logits (B, T, V) for token ids laid out (B, T). */
    public Tensor forward(int[] ids, int B, int T) {
        hidden = transformer.forward(ids, B, T);
        int C = transformer.config().nEmbd();
        int V = transformer.config().vocabSize();
        logits = Tensor.reuse(logits, Shape.of(B * T, V));
        Parameter wte = transformer.wte().weight();
        if (wte.requiresGrad()) {
            Ops.matmul("lm_head", logits, hidden.view(B * T, C), false, wte.value(), true, 0f);
        } else {
            Ops.matmulFrozen("lm_head", logits, hidden.view(B * T, C), false, wte.value(), true, 0f);
        }
        return logits.view(B, T, V);
    }

    /**
     * Logits (B, V) of the last of T new tokens per sequence, attending to what {@code cache} holds (which then
     * includes the new tokens): one step of incremental decoding.
     */
    public Tensor nextTokenLogits(int[] ids, int B, int T, KvCache cache) {
        Tensor hiddenNew = transformer.forwardCached(ids, B, T, cache);
        int C = transformer.config().nEmbd();
        Tensor last = hiddenNew.narrow(1, T - 1, 1).contiguous().view(B, C);
        Tensor out = Tensor.zeros(B, transformer.config().vocabSize());
        Parameter wte = transformer.wte().weight();
        if (wte.requiresGrad()) {
            Ops.matmul("lm_head", out, last, false, wte.value(), true, 0f);
        } else {
            Ops.matmulFrozen("lm_head", out, last, false, wte.value(), true, 0f);   // packed once, not per token
        }
        return out;
    }

    /** Backward from d(loss)/d(logits) (B, T, V) through the tied head and the transformer. */
    @Override
    public Tensor backward(Tensor dlogits) {
        int C = transformer.config().nEmbd();
        int V = transformer.config().vocabSize();
        Tensor d = dlogits.contiguous().view(-1, V);
        Parameter wte = transformer.wte().weight();
        if (wte.requiresGrad()) {
            Ops.matmul("lm_head", wte.grad(), d, true, hidden.view(-1, C), false, 1f);   // dW += dlogitsᵀ·h
        }
        dhidden = Tensor.reuse(dhidden, Shape.of(d.dim(0), C));
        if (wte.requiresGrad()) {
            Ops.matmul("lm_head", dhidden, d, false, wte.value(), false, 0f);             // dh = dlogits·W
        } else {
            Ops.matmulFrozen("lm_head", dhidden, d, false, wte.value(), false, 0f);
        }
        return transformer.backward(dhidden.view(hidden.shape().toArray()));
    }

    /**
     * Loads a Hugging Face GPT-2 directory: config.json and model.safetensors, with or without the
     * "transformer." prefix on weight names.
     *
     * @throws IOException if a file is missing or unreadable, or a weight is missing or has the wrong shape
     */
    public static Gpt2LmHeadModel load(Path dir) throws IOException {
        Gpt2Config config = HfModelDir.readConfig(dir, Gpt2Config.class);
        return HfModelDir.load(dir, "transformer.", Set.of(), () -> new Gpt2LmHeadModel(config, 0));
    }
}
