package dev.lora4j.models.bert;

import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Linear;
import dev.lora4j.tensor.Tensor;

/**
 * LayerNorm(dropout(dense(h)) + residual): Hugging Face's BertSelfOutput (after attention, dense C → C) and
 * BertOutput (after the intermediate layer, dense I → C), which differ only in the width of dense.
 */
public final class BertResidualOutput extends FamilyModule {
    private final Dropout dropout;
    private final LayerNorm layerNorm;
    private Tensor sum;
    private Tensor dsum;

    BertResidualOutput(String suffix, int in, BertConfig c, long seed) {
        super(c, suffix);
        registerModule("dense", new Linear(in, c.hiddenSize(), true, seed));
        layerNorm = registerModule("LayerNorm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
        dropout = registerModule("dropout", new Dropout(c.hiddenDropoutProb(), seed + 1));
    }

    /** LayerNorm(dropout(dense(h)) + residual). */
    Tensor forward(Tensor h, Tensor residual) {
        sum = Tensor.reuse(sum, residual.shape()).setSum(dropout.forward(child("dense").forward(h)), residual);
        return layerNorm.forward(sum);
    }

    /** Backward from d(out); returns d(h). The residual's gradient is {@link #residualGradient()}. */
    @Override
    public Tensor backward(Tensor dout) {
        dsum = layerNorm.backward(dout);
        return child("dense").backward(dropout.backward(dsum));
    }

    /** d(residual) from the last backward: the gradient that flows around dense. */
    Tensor residualGradient() {
        return dsum;
    }
}
