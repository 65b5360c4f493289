package dev.lora4j.models.bert;

import dev.lora4j.models.HfModelDir;
import dev.lora4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

/**
 * Hugging Face's RobertaForSequenceClassification: the encoder under "roberta" (BERT's layers, positions
 * counted from the padding id, no pooler) and {@link RobertaClassificationHead} under "classifier".
 */
public final class RobertaForSequenceClassification extends SequenceClassifier {
    private static final Set<String> HEAD = Set.of("classifier.dense.weight", "classifier.dense.bias",
            "classifier.out_proj.weight", "classifier.out_proj.bias");
    private final BertModel roberta;
    private final RobertaClassificationHead classifier;

    /** A model of the given config (model_type roberta); the head is random until loaded. */
    public RobertaForSequenceClassification(BertConfig config, long seed) {
        if (!config.positionsFromPadding()) {
            throw new IllegalArgumentException("RoBERTa: model_type is '" + config.modelType() + "', expected roberta");
        }
        roberta = registerModule("roberta", new BertModel(config, false, seed));
        classifier = registerModule("classifier", new RobertaClassificationHead(config, seed + 8));
    }

    @Override
    public BertModel encoder() {
        return roberta;
    }

    @Override
    public Tensor forward(int[] ids, int[] tokenTypes, float[] mask, int B, int T) {
        return classifier.forward(roberta.forward(ids, tokenTypes, mask, B, T));
    }

    @Override
    public Tensor backward(Tensor dlogits) {
        roberta.backward(classifier.backward(dlogits), null);
        return null;
    }

    /**
     * Loads a Hugging Face directory. A checkpoint without the classification head (roberta-base, which has
     * an lm_head instead) keeps the head's random initialisation, as transformers does.
     *
     * @throws IOException if a file is missing or an encoder weight is missing or mis-shaped
     */
    public static RobertaForSequenceClassification load(Path dir, long seed) throws IOException {
        BertConfig config = HfModelDir.readConfig(dir, BertConfig.class);
        return HfModelDir.load(dir, "roberta.", HEAD, () -> new RobertaForSequenceClassification(config, seed));
    }
}
