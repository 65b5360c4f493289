package dev.lora4j.models.bert;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lora4j.models.ConfigFields;

/**
 * The config.json of the BERT family as Hugging Face writes it (BertModel, MiniLM, and RoBERTa, whose
 * {@code model_type} "roberta" changes how positions are counted); missing fields take transformers' defaults.
 */
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
                         @JsonProperty("num_labels") Integer numLabels,
                         @JsonProperty("model_type") String modelType,
                         @JsonProperty("pad_token_id") Integer padTokenId,
                         @JsonProperty("classifier_dropout") Float classifierDropout) {

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
        modelType = modelType == null ? "bert" : modelType;
        padTokenId = padTokenId == null ? (isRoberta(modelType) ? 1 : 0) : padTokenId;
        classifierDropout = classifierDropout == null ? hiddenDropoutProb : classifierDropout;
        if (isRoberta(modelType) && padTokenId + 1 >= maxPositionEmbeddings) {
            throw new IllegalArgumentException("max_position_embeddings " + maxPositionEmbeddings
                    + " leaves no positions after pad_token_id " + padTokenId + " (RoBERTa counts positions from pad_token_id + 1)");
        }
    }

    /** A BERT config with the defaults of model_type "bert" for the fields BERT and MiniLM checkpoints omit. */
    public BertConfig(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads, int intermediateSize,
                      int maxPositionEmbeddings, Integer typeVocabSize, String hiddenAct, Float layerNormEps,
                      Float hiddenDropoutProb, Integer numLabels) {
        this(vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize, maxPositionEmbeddings,
                typeVocabSize, hiddenAct, layerNormEps, hiddenDropoutProb, numLabels, null, null, null);
    }

    /**
     * Whether positions are counted as RoBERTa does: from pad_token_id + 1 over the non-padding tokens, with
     * padding at position pad_token_id (model types roberta, xlm-roberta, camembert).
     */
    public boolean positionsFromPadding() {
        return isRoberta(modelType);
    }

    /** The prefix of transformers' class names for this model type: Bert, Roberta, XLMRoberta or Camembert. */
    public String classPrefix() {
        return switch (modelType) {
            case "roberta" -> "Roberta";
            case "xlm-roberta" -> "XLMRoberta";
            case "camembert" -> "Camembert";
            default -> "Bert";
        };
    }

    /** The longest sequence the position table allows (RoBERTa loses pad_token_id + 1 rows to its offset). */
    public int maxSequenceLength() {
        return positionsFromPadding() ? maxPositionEmbeddings - padTokenId - 1 : maxPositionEmbeddings;
    }

    private static boolean isRoberta(String modelType) {
        return modelType.equals("roberta") || modelType.equals("xlm-roberta") || modelType.equals("camembert");
    }
}
