package dev.lora4j.metrics;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Corpus NIST (Doddington, 2002), as NLTK's {@code corpus_nist} computes it: n-grams up to 5 weighted by their
 * information in the references, Info(w1…wn) = log2(count(w1…wn−1) / count(w1…wn)) with counts over all
 * references of the corpus (the word total for unigrams); per hypothesis the best-matching reference (highest
 * precision, then numerator, denominator, reference length); per-order precisions summed over the corpus, added
 * up, and multiplied by the length penalty exp(β·log²(min(1, sys/ref))) with β chosen so that a system 2/3 of
 * the reference length scores 0.5.
 */
public final class Nist {
    /** The n-gram order the E2E challenge uses. */
    public static final int DEFAULT_ORDER = 5;

    private Nist() {
    }

    /**
     * Corpus NIST with n-grams up to {@code maxN}.
     *
     * @throws IllegalArgumentException if the lists differ in length or a hypothesis has no reference
     */
    public static double score(List<List<String>> hypotheses, List<List<List<String>>> references, int maxN) {
        Ngrams.requireAligned("NIST", hypotheses, references);
        Map<List<String>, Integer> freq = new HashMap<>();
        long referenceWords = 0;
        for (List<List<String>> refs : references) {
            for (List<String> ref : refs) {
                Ngrams.countUpTo(ref, maxN).forEach((g, c) -> freq.merge(g, c, Integer::sum));
                referenceWords += ref.size();
            }
        }
        long totalWords = referenceWords;
        Map<List<String>, Double> info = new HashMap<>();
        freq.forEach((g, c) -> {
            Integer prefix = g.size() > 1 ? freq.get(g.subList(0, g.size() - 1)) : null;
            info.put(g, log2((prefix != null ? prefix : totalWords) / (double) c));
        });

        double precisionSum = 0;
        long refLength = 0, sysLength = 0;
        for (int n = 1; n <= maxN; n++) {
            double numerator = 0;
            long denominator = 0;
            for (int i = 0; i < hypotheses.size(); i++) {
                List<String> hyp = hypotheses.get(i);
                Map<List<String>, Integer> hypCounts = Ngrams.count(hyp, n);
                long hypTotal = Math.max(0, hyp.size() - n + 1);
                double[] best = null;                                       // precision, numerator, denominator, length
                for (List<String> ref : references.get(i)) {
                    Map<List<String>, Integer> refCounts = Ngrams.count(ref, n);
                    double num = 0;
                    for (Map.Entry<List<String>, Integer> e : hypCounts.entrySet()) {
                        int overlap = Math.min(e.getValue(), refCounts.getOrDefault(e.getKey(), 0));
                        if (overlap > 0) {
                            num += info.get(e.getKey()) * overlap;
                        }
                    }
                    double[] candidate = {hypTotal == 0 ? 0 : num / hypTotal, num, hypTotal, ref.size()};
                    if (best == null || compare(candidate, best) > 0) {
                        best = candidate;
                    }
                }
                numerator += best[1];
                denominator += (long) best[2];
                refLength += (long) best[3];
                sysLength += hyp.size();
            }
            precisionSum += denominator == 0 ? 0 : numerator / denominator;
        }
        return precisionSum * lengthPenalty(refLength, sysLength);
    }

    /** exp(β·log²(sys/ref)) below the reference length, 1 at or above it; β makes 2/3 of the length score 0.5. */
    static double lengthPenalty(long refLength, long sysLength) {
        double ratio = (double) sysLength / refLength;
        if (ratio > 0 && ratio < 1) {
            double beta = Math.log(0.5) / Math.pow(Math.log(1.5), 2);
            return Math.exp(beta * Math.pow(Math.log(ratio), 2));
        }
        return Math.max(Math.min(ratio, 1.0), 0.0);
    }

    private static int compare(double[] a, double[] b) {
        for (int k = 0; k < a.length; k++) {
            int c = Double.compare(a[k], b[k]);
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    private static double log2(double x) {
        return Math.log(x) / Math.log(2);
    }
}
