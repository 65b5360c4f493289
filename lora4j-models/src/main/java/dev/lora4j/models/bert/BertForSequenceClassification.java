package dev.lora4j.models.bert;

import dev.lora4j.models.HfModelDir;
import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Linear;
import dev.lora4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * Hugging Face's BertForSequenceClassification: logits = classifier(dropout(pooler(bert(x)))), with the model
 * under "bert" and the head under "classifier" (num_labels outputs). With {@link Pooling#MEAN} the [CLS] pooler
 * is replaced by sentence-transformers' masked mean over tokens, the pooling a sentence-embedding model such as
 * all-MiniLM-L6-v2 was trained with (its checkpoint has no pooler).
 */
public final class BertForSequenceClassification extends SequenceClassifier {
    private static final Set<String> HEAD = Set.of("bert.pooler.dense.weight", "bert.pooler.dense.bias",
            "classifier.weight", "classifier.bias");
    private final BertModel bert;
    private final Dropout dropout;
    private final Pooling pooling;
    private final MeanPooling mean = new MeanPooling();
    private Tensor hidden;

    /** How the sequence becomes one vector for the classifier. */
    public enum Pooling {
        /** Hugging Face's pooler: tanh(dense(hidden[CLS])). */
        CLS,
        /** sentence-transformers' mean over non-padding tokens. */
        MEAN
    }

    /** A model with the given config and the [CLS] pooler; the pooler and classifier are random until loaded. */
    public BertForSequenceClassification(BertConfig config, long seed) {
        this(config, Pooling.CLS, seed);
    }

    /** A model with the given config and pooling; the head is randomly initialised until loaded. */
    public BertForSequenceClassification(BertConfig config, Pooling pooling, long seed) {
        this.pooling = pooling;
        bert = registerModule("bert", new BertModel(config, pooling == Pooling.CLS, seed));
        dropout = registerModule("dropout", new Dropout(config.hiddenDropoutProb(), seed + 7));
        registerModule("classifier", new Linear(config.hiddenSize(), config.numLabels(), true, seed + 8));
    }

    /** The pooling in use. */
    public Pooling pooling() {
        return pooling;
    }

    /** The encoder. */
    public BertModel bert() {
        return bert;
    }

    @Override
    public BertModel encoder() {
        return bert;
    }

    @Override
    public Tensor forward(int[] ids, int[] tokenTypes, float[] mask, int B, int T) {
        hidden = bert.forward(ids, tokenTypes, mask, B, T);
        Tensor pooled = pooling == Pooling.CLS ? bert.pool(hidden) : mean.forward(hidden, mask);
        return child("classifier").forward(dropout.forward(pooled));
    }

    @Override
    public Tensor backward(Tensor dlogits) {
        Tensor dpooled = dropout.backward(child("classifier").backward(dlogits));
        if (pooling == Pooling.CLS) {
            bert.backward(null, dpooled);
        } else {
            bert.backward(mean.backward(dpooled), null);
        }
        return null;
    }

    /**
     * Loads a Hugging Face directory. A checkpoint of a bare BertModel (as sentence-transformers ship) has no
     * pooler or classifier: those keep their random initialisation, as transformers does (it warns).
     *
     * @throws IOException if a file is missing or a weight is missing or mis-shaped
     */
    public static BertForSequenceClassification load(Path dir, long seed) throws IOException {
        BertConfig config = HfModelDir.readConfig(dir, BertConfig.class);
        return HfModelDir.load(dir, "bert.", HEAD, () -> new BertForSequenceClassification(config, seed));
    }

    /**
     * A model of the given config with weights from {@code weights} (Hugging Face names, with or without "bert.",
     * e.g. from an ONNX import); the pooler and classifier may be absent.
     *
     * @throws IOException if an encoder weight is missing or mis-shaped
     */
    public static BertForSequenceClassification fromWeights(Map<String, Tensor> weights, String source, BertConfig config,
                                                            Pooling pooling, long seed) throws IOException {
        BertForSequenceClassification model = new BertForSequenceClassification(config, pooling, seed);
        HfModelDir.loadWeights(weights::get, source, model, "bert.", HEAD);
        return model;
    }
}
