package dev.lora4j.tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * The tokenizer of an encoder classifier: one text or a pair in, ids with the model's special tokens, token
 * types and attention mask out (BERT's {@code [CLS] a [SEP] b [SEP]}, RoBERTa's {@code <s> a </s></s> b </s>}).
 */
public interface SequenceTokenizer {
    /** A batch encoded for an encoder model: rows of ids, token types and attention mask, (B, T) each. */
    record Batch(int[] ids, int[] tokenTypes, float[] mask, int batchSize, int length) {
    }

    /**
     * One sequence or a pair ({@code b} may be null), truncated longest-first to at most {@code maxLength}
     * tokens including the special tokens. Returns a batch of one row, unpadded.
     *
     * @throws IllegalArgumentException if maxLength leaves no room for the special tokens
     */
    Batch encodePair(String a, String b, int maxLength);

    /** The id of the padding token. */
    int padId();

    /** Number of tokens. */
    int vocabSize();

    /** Encodes single texts, truncated to maxLength and padded to the longest in the batch. */
    default Batch encodeBatch(List<String> texts, int maxLength) {
        List<Batch> rows = texts.stream().map(t -> encodePair(t, null, maxLength)).toList();
        int T = rows.stream().mapToInt(Batch::length).max().orElse(0);
        int B = rows.size();
        int[] ids = new int[B * T];
        int[] types = new int[B * T];
        float[] mask = new float[B * T];
        Arrays.fill(ids, padId());
        for (int r = 0; r < B; r++) {
            Batch row = rows.get(r);
            System.arraycopy(row.ids(), 0, ids, r * T, row.length());
            System.arraycopy(row.tokenTypes(), 0, types, r * T, row.length());
            System.arraycopy(row.mask(), 0, mask, r * T, row.length());
        }
        return new Batch(ids, types, mask, B, T);
    }

    /**
     * Truncates the two id lists in place, removing from the end of the longer one (the first on ties, as
     * transformers' longest_first), until they fit {@code maxLength} with {@code specials} special tokens.
     *
     * @throws IllegalArgumentException if maxLength is smaller than specials
     */
    static void truncateLongestFirst(List<Integer> a, List<Integer> b, int specials, int maxLength) {
        if (maxLength < specials) {
            throw new IllegalArgumentException("max_length " + maxLength + " leaves no room for the " + specials + " special tokens");
        }
        while (a.size() + b.size() + specials > maxLength) {
            (a.size() >= b.size() ? a : b).removeLast();
        }
    }
}
