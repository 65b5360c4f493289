package dev.lora4j.models.bert;

import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Tanh;
import dev.lora4j.tensor.Tensor;

/**
 * RoBERTa's classification head: out_proj(dropout(tanh(dense(dropout(hidden[:, 0]))))), with the weights
 * {@code classifier.dense} and {@code classifier.out_proj} as in transformers' RobertaClassificationHead.
 * Takes the hidden states (B, T, C) and returns logits (B, num_labels).
 */
public final class RobertaClassificationHead extends Module {
    private final FirstToken first = new FirstToken();
    private final Tanh tanh = new Tanh();
    private final Dropout inputDropout;
    private final Dropout hiddenDropout;
    private final BertConfig config;

    RobertaClassificationHead(BertConfig c, long seed) {
        config = c;
        registerModule("dense", new Linear(c.hiddenSize(), c.hiddenSize(), true, seed));
        registerModule("out_proj", new Linear(c.hiddenSize(), c.numLabels(), true, seed + 1));
        inputDropout = new Dropout(c.classifierDropout(), seed + 2);
        hiddenDropout = new Dropout(c.classifierDropout(), seed + 3);
    }

    /** A head of the same sizes, for PEFT's modules_to_save copy of "classifier". */
    @Override
    public RobertaClassificationHead newLike() {
        return new RobertaClassificationHead(config, 0);
    }

    @Override
    public void train(boolean mode) {
        super.train(mode);
        inputDropout.train(mode);
        hiddenDropout.train(mode);
    }

    @Override
    public Tensor forward(Tensor hidden) {
        Tensor x = child("dense").forward(inputDropout.forward(first.forward(hidden)));
        return child("out_proj").forward(hiddenDropout.forward(tanh.forward(x)));
    }

    @Override
    public Tensor backward(Tensor dlogits) {
        Tensor d = tanh.backward(hiddenDropout.backward(child("out_proj").backward(dlogits)));
        return first.backward(inputDropout.backward(child("dense").backward(d)));
    }
}
