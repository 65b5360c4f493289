package dev.lora4j.models.gpt2;

import dev.lora4j.kernels.Gelu;
import dev.lora4j.nn.Conv1D;
import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.GeluActivation;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;

/** GPT-2's feed-forward block: c_fc (C → n_inner), GELU, c_proj (n_inner → C), dropout. */
public final class Gpt2Mlp extends Module {
    private final GeluActivation act;
    private final Dropout dropout;

    /** An MLP for the given config. */
    public Gpt2Mlp(Gpt2Config config, long seed) {
        registerModule("c_fc", new Conv1D(config.nEmbd(), config.nInner(), seed));
        registerModule("c_proj", new Conv1D(config.nInner(), config.nEmbd(), seed + 1));
        act = registerModule("act", new GeluActivation(Gelu.Kind.fromHuggingFace(config.activationFunction())));
        dropout = registerModule("dropout", new Dropout(config.residPdrop(), seed + 2));
    }

    @Override
    public Tensor forward(Tensor x) {
        return dropout.forward(child("c_proj").forward(act.forward(child("c_fc").forward(x))));
    }

    @Override
    public Tensor backward(Tensor dout) {
        return child("c_fc").backward(act.backward(child("c_proj").backward(dropout.backward(dout))));
    }
}
