package dev.lora4j.models.bert;

import dev.lora4j.kernels.Gelu;
import dev.lora4j.nn.GeluActivation;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;

/**
 * One post-norm encoder layer with Hugging Face's names: attention.self, attention.output, intermediate.dense
 * (+ GELU), output. a = LN(attn(x) + x); out = LN(dense2(gelu(dense1(a))) + a).
 */
public final class BertLayer extends FamilyModule {
    private final BertSelfAttention self;
    private final BertResidualOutput attentionOutput;
    private final Module intermediate;
    private final GeluActivation act;
    private final BertResidualOutput output;
    private Tensor da;
    private Tensor dx;

    /** The "attention" child: self-attention and its residual output, named as BertAttention's. */
    private static final class BertAttention extends FamilyModule {
        BertAttention(BertConfig c, BertSelfAttention self, BertResidualOutput output) {
            super(c, "Attention");
            registerModule("self", self);
            registerModule("output", output);
        }
    }

    /** The "intermediate" child: dense (C → I), whose GELU the layer applies. */
    private static final class BertIntermediate extends FamilyModule {
        BertIntermediate(BertConfig c, long seed) {
            super(c, "Intermediate");
            registerModule("dense", new Linear(c.hiddenSize(), c.intermediateSize(), true, seed));
        }

        @Override
        public Tensor forward(Tensor x) {
            return child("dense").forward(x);
        }

        @Override
        public Tensor backward(Tensor dout) {
            return child("dense").backward(dout);
        }
    }

    BertLayer(BertConfig c, long seed) {
        super(c, "Layer");
        self = new BertSelfAttention(c, seed);
        attentionOutput = new BertResidualOutput("SelfOutput", c.hiddenSize(), c, seed + 10);
        registerModule("attention", new BertAttention(c, self, attentionOutput));
        intermediate = registerModule("intermediate", new BertIntermediate(c, seed + 20));
        act = new GeluActivation(Gelu.Kind.fromHuggingFace(c.hiddenAct()));
        output = registerModule("output", new BertResidualOutput("Output", c.intermediateSize(), c, seed + 30));
    }

    void setMask(float[] mask) {
        self.setMask(mask);
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor a = attentionOutput.forward(self.forward(x), x);
        return output.forward(act.forward(intermediate.forward(a)), a);
    }

    @Override
    public Tensor backward(Tensor dout) {
        Tensor dmid = intermediate.backward(act.backward(output.backward(dout)));
        da = Tensor.reuse(da, dmid.shape()).setSum(dmid, output.residualGradient());
        Tensor dself = self.backward(attentionOutput.backward(da));
        dx = Tensor.reuse(dx, dself.shape()).setSum(dself, attentionOutput.residualGradient());
        return dx;
    }

    @Override
    public void backwardParametersOnly(Tensor dout) {
        if (!self.hasTrainableParameters() && !attentionOutput.hasTrainableParameters()) {
            backwardParametersOnly(dout, intermediate, act, output);
            return;
        }
        Tensor dmid = intermediate.backward(act.backward(output.backward(dout)));
        da = Tensor.reuse(da, dmid.shape()).setSum(dmid, output.residualGradient());
        backwardParametersOnly(da, self, attentionOutput);    // the residual around self needs no gradient
    }
}
