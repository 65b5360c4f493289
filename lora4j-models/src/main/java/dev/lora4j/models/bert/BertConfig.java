package dev.lora4j.models.bert;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lora4j.models.ConfigFields;

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
        ConfigFields.positive("vocab_size", vocabSize);
        ConfigFields.positive("hidden_size", hiddenSize);
        ConfigFields.positive("num_hidden_layers", numHiddenLayers);
        ConfigFields.positive("num_attention_heads", numAttentionHeads);
        ConfigFields.positive("intermediate_size", intermediateSize);
        ConfigFields.positive("max_position_embeddings", maxPositionEmbeddings);
        ConfigFields.divisible("hidden_size", hiddenSize, "num_attention_heads", numAttentionHeads);
        typeVocabSize = typeVocabSize == null ? 2 : typeVocabSize;
        hiddenAct = hiddenAct == null ? "gelu" : hiddenAct;
        layerNormEps = layerNormEps == null ? 1e-12f : layerNormEps;
        hiddenDropoutProb = hiddenDropoutProb == null ? 0.1f : hiddenDropoutProb;
        numLabels = numLabels == null ? 2 : numLabels;
    }
}
