package dev.lora4j.models.bert;

import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

/** word + position + token-type embeddings, then LayerNorm and dropout, as BertEmbeddings. */
public final class BertEmbeddings extends Module {
    private final int hidden;
    private final LayerNorm layerNorm;
    private final Dropout dropout;
    private int[] positions = new int[0];
    private int[] zeros = new int[0];
    private Tensor sum;

    BertEmbeddings(BertConfig c, long seed) {
        hidden = c.hiddenSize();
        registerModule("word_embeddings", new Embedding(c.vocabSize(), c.hiddenSize(), seed));
        registerModule("position_embeddings", new Embedding(c.maxPositionEmbeddings(), c.hiddenSize(), seed + 1));
        registerModule("token_type_embeddings", new Embedding(c.typeVocabSize(), c.hiddenSize(), seed + 2));
        layerNorm = registerModule("LayerNorm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
        dropout = registerModule("dropout", new Dropout(c.hiddenDropoutProb(), seed + 3));
    }

    /** Embeddings (B, T, C) of ids and token types (null for all zeros), both laid out (B, T). */
    Tensor forward(int[] ids, int[] tokenTypes, int B, int T) {
        if (positions.length != B * T) {
            positions = new int[B * T];
            zeros = new int[B * T];
            for (int i = 0; i < positions.length; i++) {
                positions[i] = i % T;
            }
        }
        sum = Tensor.reuse(sum, Shape.of(B, T, hidden)).copyFrom(lookup("word_embeddings").forward(ids, B, T))
                .addInPlace(lookup("position_embeddings").forward(positions, B, T))
                .addInPlace(lookup("token_type_embeddings").forward(tokenTypes == null ? zeros : tokenTypes, B, T));
        return dropout.forward(layerNorm.forward(sum));
    }

    @Override
    public Tensor backward(Tensor dout) {
        Tensor d = layerNorm.backward(dropout.backward(dout));
        lookup("word_embeddings").backward(d);
        lookup("position_embeddings").backward(d);
        lookup("token_type_embeddings").backward(d);
        return null;
    }
}
