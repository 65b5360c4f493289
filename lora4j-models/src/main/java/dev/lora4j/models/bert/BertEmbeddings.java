package dev.lora4j.models.bert;

import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

/**
 * word + position + token-type embeddings, then LayerNorm and dropout, as BertEmbeddings. Positions run 0 … T−1
 * in every row, or for RoBERTa ({@link BertConfig#positionsFromPadding()}) from pad_token_id + 1 over the tokens
 * that are not padding, padding taking position pad_token_id, as RobertaEmbeddings derives them from the ids.
 */
public final class BertEmbeddings extends FamilyModule {
    private final int hidden;
    private final boolean positionsFromPadding;
    private final int padId;
    private final LayerNorm layerNorm;
    private final Dropout dropout;
    private int[] positions = new int[0];
    private int[] zeros = new int[0];
    private Tensor sum;

    BertEmbeddings(BertConfig c, long seed) {
        super(c, "Embeddings");
        hidden = c.hiddenSize();
        positionsFromPadding = c.positionsFromPadding();
        padId = c.padTokenId();
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
        }
        for (int b = 0; b < B; b++) {
            int position = padId;
            for (int t = 0; t < T; t++) {
                int i = b * T + t;
                positions[i] = !positionsFromPadding ? t : ids[i] == padId ? padId : ++position;
            }
        }
        sum = Tensor.reuse(sum, Shape.of(B, T, hidden)).setSum(lookup("word_embeddings").forward(ids, B, T),
                        lookup("position_embeddings").forward(positions, B, T))
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
