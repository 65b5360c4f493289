package dev.lora4j.models.bert;

import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;

/**
 * A BERT-family encoder with a classification head (BertForSequenceClassification,
 * RobertaForSequenceClassification): token ids in, one row of logits per sequence out; {@link #backward}
 * takes d(logits) and fills the parameters' gradients.
 */
public abstract class SequenceClassifier extends Module {
    /**
     * Logits (B, num_labels).
     *
     * @param ids        (B, T) token ids
     * @param tokenTypes (B, T) or null for all zeros
     * @param mask       (B, T) with 1 for tokens and 0 for padding, or null for no padding
     */
    public abstract Tensor forward(int[] ids, int[] tokenTypes, float[] mask, int B, int T);

    /** The encoder under the head. */
    public abstract BertModel encoder();

    /** Number of classes. */
    public int numLabels() {
        return encoder().config().numLabels();
    }
}
