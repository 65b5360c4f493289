package dev.lora4j.models.bert;

import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Sequential;
import dev.lora4j.nn.Tanh;
import dev.lora4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Hugging Face's BertModel (also MiniLM): embeddings, encoder.layer.0 … encoder.layer.{L−1}, and optionally the
 * pooler (dense + tanh on the [CLS] position). Inputs are ids, token types and the attention mask, each (B, T).
 */
public final class BertModel extends FamilyModule {
    private final BertConfig config;
    private final BertEmbeddings embeddings;
    private final Encoder encoder;
    private final Module pooler;
    private Tensor dhidden;

    /** The encoder's layers, under "layer" as in BertEncoder. */
    private static final class Encoder extends FamilyModule {
        private final List<BertLayer> layers = new ArrayList<>();
        private final Module stack;

        Encoder(BertConfig c, long seed) {
            super(c, "Encoder");
            for (int i = 0; i < c.numHiddenLayers(); i++) {
                layers.add(new BertLayer(c, seed + 100L * i));
            }
            stack = registerModule("layer", new Sequential("ModuleList", layers));
        }

        void setMask(float[] mask) {
            layers.forEach(l -> l.setMask(mask));
        }

        @Override
        public Tensor forward(Tensor x) {
            return stack.forward(x);
        }

        @Override
        public Tensor backward(Tensor dout) {
            return stack.backward(dout);
        }

        @Override
        public void backwardParametersOnly(Tensor dout) {
            stack.backwardParametersOnly(dout);
        }
    }

    /** BERT with or without the pooler. */
    public BertModel(BertConfig config, boolean withPooler, long seed) {
        super(config, "Model");
        this.config = config;
        embeddings = registerModule("embeddings", new BertEmbeddings(config, seed));
        encoder = registerModule("encoder", new Encoder(config, seed + 1000));
        pooler = withPooler ? registerModule("pooler", new Pooler(config, seed + 5000)) : null;
    }

    /** BertPooler: tanh(dense(h[:, 0])). */
    static final class Pooler extends FamilyModule {
        private final FirstToken first = new FirstToken();
        private final Tanh activation = new Tanh();

        Pooler(BertConfig c, long seed) {
            super(c, "Pooler");
            registerModule("dense", new Linear(c.hiddenSize(), c.hiddenSize(), true, seed));
        }

        @Override
        public Tensor forward(Tensor hidden) {                 // (B, T, C) -> (B, C)
            return activation.forward(child("dense").forward(first.forward(hidden)));
        }

        @Override
        public Tensor backward(Tensor dout) {                  // (B, C) -> (B, T, C), zero off the [CLS] position
            return first.backward(child("dense").backward(activation.backward(dout)));
        }
    }

    /** The config this model was built from. */
    public BertConfig config() {
        return config;
    }

    /**
     * Last hidden states (B, T, C).
     *
     * @param tokenTypes (B, T) or null for all zeros
     * @param mask       (B, T) with 1 for tokens and 0 for padding, or null for no padding
     */
    public Tensor forward(int[] ids, int[] tokenTypes, float[] mask, int B, int T) {
        if (T > config.maxSequenceLength()) {
            throw new IllegalArgumentException(config.modelType() + ": sequence length " + T + " exceeds the "
                    + config.maxSequenceLength() + " positions of max_position_embeddings " + config.maxPositionEmbeddings()
                    + (config.positionsFromPadding() ? " (less pad_token_id + 1)" : ""));
        }
        encoder.setMask(mask);
        return encoder.forward(embeddings.forward(ids, tokenTypes, B, T));
    }

    /** The pooled [CLS] output (B, C) of the last forward's hidden states. */
    public Tensor pool(Tensor hidden) {
        if (pooler == null) {
            throw new IllegalStateException("BERT: this model was built without a pooler");
        }
        return pooler.forward(hidden);
    }

    /**
     * Backward through the pooler (from d(pooled)), adding into d(hidden) if given; then through the encoder, down
     * to the lowest layer with a trainable parameter (all the way into the embeddings only if they train).
     */
    public void backward(Tensor dhiddenFromTokens, Tensor dpooled) {
        Tensor d = dhiddenFromTokens;
        if (dpooled != null) {
            Tensor fromPool = pooler.backward(dpooled);
            d = d == null ? fromPool : (dhidden = Tensor.reuse(dhidden, d.shape()).setSum(d, fromPool));
        }
        backwardParametersOnly(d, embeddings, encoder);
    }

    @Override
    public Tensor backward(Tensor dhiddenStates) {
        backward(dhiddenStates, null);
        return null;
    }
}
