package dev.lora4j.models.gpt2;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.lora4j.models.ConfigFields;

/**
 * GPT-2's config.json as Hugging Face writes it. Checked once, on construction; missing fields take
 * transformers' GPT2Config defaults.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Gpt2Config(@JsonProperty("vocab_size") int vocabSize,
                         @JsonProperty("n_positions") int nPositions,
                         @JsonProperty("n_embd") int nEmbd,
                         @JsonProperty("n_layer") int nLayer,
                         @JsonProperty("n_head") int nHead,
                         @JsonProperty("n_inner") Integer nInner,
                         @JsonProperty("activation_function") String activationFunction,
                         @JsonProperty("layer_norm_epsilon") Float layerNormEpsilon,
                         @JsonProperty("resid_pdrop") Float residPdrop,
                         @JsonProperty("embd_pdrop") Float embdPdrop,
                         @JsonProperty("initializer_range") Float initializerRange) {

    /**
     * Applies defaults and validates.
     *
     * @throws IllegalArgumentException naming the field when a value is missing or inconsistent
     */
    public Gpt2Config {
        ConfigFields.positive("vocab_size", vocabSize);
        ConfigFields.positive("n_positions", nPositions);
        ConfigFields.positive("n_embd", nEmbd);
        ConfigFields.positive("n_layer", nLayer);
        ConfigFields.positive("n_head", nHead);
        ConfigFields.divisible("n_embd", nEmbd, "n_head", nHead);
        nInner = nInner == null ? 4 * nEmbd : nInner;
        activationFunction = activationFunction == null ? "gelu_new" : activationFunction;
        layerNormEpsilon = layerNormEpsilon == null ? 1e-5f : layerNormEpsilon;
        residPdrop = residPdrop == null ? 0.1f : residPdrop;
        embdPdrop = embdPdrop == null ? 0.1f : embdPdrop;
        initializerRange = initializerRange == null ? 0.02f : initializerRange;
        if (!(initializerRange > 0)) {
            throw new IllegalArgumentException("config.json: initializer_range must be > 0, got " + initializerRange);
        }
    }
}
