package dev.lora4j.models.gpt2;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

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
                         @JsonProperty("embd_pdrop") Float embdPdrop) {

    /**
     * Applies defaults and validates.
     *
     * @throws IllegalArgumentException naming the field when a value is missing or inconsistent
     */
    public Gpt2Config {
        require(vocabSize > 0, "vocab_size", vocabSize, "a positive number");
        require(nPositions > 0, "n_positions", nPositions, "a positive number");
        require(nEmbd > 0, "n_embd", nEmbd, "a positive number");
        require(nLayer > 0, "n_layer", nLayer, "a positive number");
        require(nHead > 0, "n_head", nHead, "a positive number");
        if (nEmbd % nHead != 0) {
            throw new IllegalArgumentException("config.json: n_embd (%d) is not divisible by n_head (%d)".formatted(nEmbd, nHead));
        }
        nInner = nInner == null ? 4 * nEmbd : nInner;
        activationFunction = activationFunction == null ? "gelu_new" : activationFunction;
        layerNormEpsilon = layerNormEpsilon == null ? 1e-5f : layerNormEpsilon;
        residPdrop = residPdrop == null ? 0.1f : residPdrop;
        embdPdrop = embdPdrop == null ? 0.1f : embdPdrop;
    }

    private static void require(boolean ok, String field, int value, String expected) {
        if (!ok) {
            throw new IllegalArgumentException("config.json: " + field + " is " + value + ", expected " + expected);
        }
    }
}
