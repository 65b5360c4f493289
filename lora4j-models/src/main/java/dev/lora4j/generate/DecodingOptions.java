package dev.lora4j.generate;

/**
 * How to decode, with Hugging Face generate()'s meaning for each field.
 *
 * @param maxNewTokens      most tokens to add
 * @param numBeams          1 for greedy decoding, more for beam search
 * @param lengthPenalty     beam scores are sum(log p) / length^lengthPenalty
 * @param noRepeatNgramSize forbid repeating any n-gram of this size (0: off)
 * @param repetitionPenalty CTRL's penalty on tokens already in the sequence (1: off)
 * @param eosTokenId        the end-of-text token, or -1 for none
 */
public record DecodingOptions(int maxNewTokens, int numBeams, double lengthPenalty, int noRepeatNgramSize,
                              double repetitionPenalty, int eosTokenId) implements java.io.Serializable {
    /** Checks ranges; errors name the option. */
    public DecodingOptions {
        if (maxNewTokens <= 0) {
            throw new IllegalArgumentException("--max-new-tokens must be positive, got " + maxNewTokens);
        }
        if (numBeams <= 0) {
            throw new IllegalArgumentException("--num-beams must be positive, got " + numBeams);
        }
        if (noRepeatNgramSize < 0) {
            throw new IllegalArgumentException("--no-repeat-ngram-size must be ≥ 0, got " + noRepeatNgramSize);
        }
        if (!(repetitionPenalty > 0)) {
            throw new IllegalArgumentException("--repetition-penalty must be positive, got " + repetitionPenalty);
        }
    }

    /** Greedy decoding of up to {@code maxNewTokens} tokens. */
    public static DecodingOptions greedy(int maxNewTokens, int eosTokenId) {
        return new DecodingOptions(maxNewTokens, 1, 1.0, 0, 1.0, eosTokenId);
    }
}
