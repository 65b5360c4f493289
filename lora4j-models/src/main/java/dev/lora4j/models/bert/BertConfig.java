package dev.lora4j.models.bert;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/** BERT's config.json as Hugging Face writes it (BertModel, MiniLM); missing fields take BertConfig's defaults. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record BertConfig(@JsonProperty("vocab_size") int vocabSize,
                         @JsonProperty("hidden_size") int hiddenSize,
                         @JsonProperty("num_hidden_layers") int numHiddenLayers,
                         @JsonProperty("num_attention_heads") int numAttentionHeads,
                         @JsonProperty("intermediate_size") int intermediateSize,
                         @JsonProperty("max_position_embeddings") int maxPositionEmbeddings,
                         @JsonProperty("type_vocab_size") Integer typeVocabSize,
                         @JsonProperty("hidden_act") String hiddenAct,
                         @JsonProperty("layer_norm_eps") Float layerNormEps,
                         @JsonProperty("hidden_dropout_prob") Float hiddenDropoutProb,
                         @JsonProperty("num_labels") Integer numLabels) {

    /**
     * Applies defaults and validates.
     *
     * @throws IllegalArgumentException naming the field when a value is missing or inconsistent
     */
    public BertConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("intermediate_size", intermediateSize);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("config.json: hidden_size (%d) is not divisible by num_attention_heads (%d)"
                    .formatted(hiddenSize, numAttentionHeads));
        }
        typeVocabSize = typeVocabSize == null ? 2 : typeVocabSize;
        hiddenAct = hiddenAct == null ? "gelu" : hiddenAct;
        layerNormEps = layerNormEps == null ? 1e-12f : layerNormEps;
        hiddenDropoutProb = hiddenDropoutProb == null ? 0.1f : hiddenDropoutProb;
        numLabels = numLabels == null ? 2 : numLabels;
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException("config.json: " + field + " is " + value + ", expected a positive number");
        }
    }
}
