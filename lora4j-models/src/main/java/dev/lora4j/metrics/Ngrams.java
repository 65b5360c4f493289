package dev.lora4j.metrics;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** n-gram counting shared by the metrics; n-grams are views of the token list, compared by content. */
final class Ngrams {
    private Ngrams() {
    }

    /** How often each n-gram of exactly {@code n} tokens occurs. */
    static Map<List<String>, Integer> count(List<String> tokens, int n) {
        Map<List<String>, Integer> out = new HashMap<>();
        for (int i = 0; i + n <= tokens.size(); i++) {
            out.merge(tokens.subList(i, i + n), 1, Integer::sum);
        }
        return out;
    }

    /** How often each n-gram of 1 to {@code maxN} tokens occurs. */
    static Map<List<String>, Integer> countUpTo(List<String> tokens, int maxN) {
        Map<List<String>, Integer> out = new HashMap<>();
        for (int n = 1; n <= maxN; n++) {
            out.putAll(count(tokens, n));
        }
        return out;
    }

    static void requireAligned(String metric, List<?> hypotheses, List<? extends List<?>> references) {
        if (hypotheses.size() != references.size()) {
            throw new IllegalArgumentException(metric + ": " + hypotheses.size() + " hypotheses but " + references.size() + " reference sets");
        }
        for (int i = 0; i < references.size(); i++) {
            if (references.get(i).isEmpty()) {
                throw new IllegalArgumentException(metric + ": hypothesis " + i + " has no reference");
            }
        }
    }
}
