package dev.lora4j.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * CIDEr-D (Vedantam et al., 2015) as the coco-caption scorer that the E2E challenge runs computes it: per n-gram
 * order 1–4, TF-IDF vectors (term frequency × (log(#contexts) − log(max(1, document frequency))), where a context's
 * document is the union of its references' n-grams); the hypothesis's clipped similarity to each reference,
 * Σ min(h, r)·r / (‖h‖‖r‖), times a Gaussian length penalty exp(−δ²/2σ²) with σ = 6; averaged over orders and
 * references, times 10, and averaged over the corpus. As that scorer does, the length in δ counts bigrams.
 */
public final class Cider {
    private static final int MAX_N = 4;
    private static final double SIGMA = 6.0;

    private Cider() {
    }

    /**
     * Corpus CIDEr-D: the mean of the per-hypothesis scores.
     *
     * @throws IllegalArgumentException if the lists differ in length or a hypothesis has no reference
     */
    public static double score(List<List<String>> hypotheses, List<List<List<String>>> references) {
        Ngrams.requireAligned("CIDEr", hypotheses, references);
        Map<List<String>, Integer> documentFrequency = new HashMap<>();
        List<List<Map<List<String>, Integer>>> refCounts = new ArrayList<>();
        for (List<List<String>> refs : references) {
            List<Map<List<String>, Integer>> counts = refs.stream().map(r -> Ngrams.countUpTo(r, MAX_N)).toList();
            Set<List<String>> seen = new HashSet<>();
            counts.forEach(c -> seen.addAll(c.keySet()));
            seen.forEach(g -> documentFrequency.merge(g, 1, Integer::sum));
            refCounts.add(counts);
        }
        double logDocuments = Math.log(references.size());
        double total = 0;
        for (int i = 0; i < hypotheses.size(); i++) {
            Vector hyp = new Vector(Ngrams.countUpTo(hypotheses.get(i), MAX_N), documentFrequency, logDocuments);
            double sum = 0;
            for (Map<List<String>, Integer> ref : refCounts.get(i)) {
                sum += hyp.similarity(new Vector(ref, documentFrequency, logDocuments));
            }
            total += 10.0 * sum / MAX_N / refCounts.get(i).size();
        }
        return total / hypotheses.size();
    }

    /** TF-IDF weights per order, their norms, and the bigram count that stands for the length. */
    private static final class Vector {
        final List<Map<List<String>, Double>> weights = new ArrayList<>();
        final double[] norm = new double[MAX_N];
        int length;

        Vector(Map<List<String>, Integer> counts, Map<List<String>, Integer> documentFrequency, double logDocuments) {
            for (int n = 0; n < MAX_N; n++) {
                weights.add(new HashMap<>());
            }
            counts.forEach((g, tf) -> {
                int n = g.size() - 1;
                double w = tf * (logDocuments - Math.log(Math.max(1.0, documentFrequency.getOrDefault(g, 0))));
                weights.get(n).put(g, w);
                norm[n] += w * w;
                if (n == 1) {
                    length += tf;
                }
            });
            for (int n = 0; n < MAX_N; n++) {
                norm[n] = Math.sqrt(norm[n]);
            }
        }

        double similarity(Vector ref) {
            double delta = length - ref.length;
            double penalty = Math.exp(-(delta * delta) / (2 * SIGMA * SIGMA));
            double sum = 0;
            for (int n = 0; n < MAX_N; n++) {
                double dot = 0;
                for (Map.Entry<List<String>, Double> e : weights.get(n).entrySet()) {
                    Double r = ref.weights.get(n).get(e.getKey());
                    if (r != null) {
                        dot += Math.min(e.getValue(), r) * r;
                    }
                }
                if (norm[n] != 0 && ref.norm[n] != 0) {
                    dot /= norm[n] * ref.norm[n];
                }
                sum += dot * penalty;
            }
            return sum;
        }
    }
}
