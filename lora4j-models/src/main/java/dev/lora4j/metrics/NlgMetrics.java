package dev.lora4j.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Corpus-level BLEU-4 with several references per hypothesis (Papineni et al., 2002, as NLTK's
 * {@code corpus_bleu}: clipped n-gram counts summed over the corpus, uniform weights, no smoothing, brevity
 * penalty against the reference length closest to each hypothesis, shorter on ties) and ROUGE-L (longest common
 * subsequence F-measure with β = 1.2, best reference per hypothesis, averaged, as the E2E challenge's
 * pycocoevalcap scorer). Inputs are token lists; {@link #tokenize} is the tokenizer the CLI uses.
 */
public final class NlgMetrics {
    private NlgMetrics() {
    }

    /** Lower-cases and splits on whitespace, with punctuation as separate tokens. */
    public static List<String> tokenize(String text) {
        List<String> out = new ArrayList<>();
        for (String word : text.toLowerCase().replaceAll("([.,!?;:()\"])", " $1 ").trim().split("\\s+")) {
            if (!word.isEmpty()) {
                out.add(word);
            }
        }
        return out;
    }

    /**
     * Corpus BLEU-4 in [0, 1].
     *
     * @throws IllegalArgumentException if the lists differ in length or a hypothesis has no reference
     */
    public static double bleu(List<List<String>> hypotheses, List<List<List<String>>> references) {
        Ngrams.requireAligned("BLEU", hypotheses, references);
        long[] matches = new long[4];
        long[] totals = new long[4];
        long hypLength = 0, refLength = 0;
        for (int i = 0; i < hypotheses.size(); i++) {
            List<String> hyp = hypotheses.get(i);
            List<List<String>> refs = references.get(i);
            for (int n = 1; n <= 4; n++) {
                Map<List<String>, Integer> counts = Ngrams.count(hyp, n);
                Map<List<String>, Integer> maxRef = new HashMap<>();
                for (List<String> ref : refs) {
                    Ngrams.count(ref, n).forEach((g, c) -> maxRef.merge(g, c, Math::max));
                }
                for (Map.Entry<List<String>, Integer> e : counts.entrySet()) {
                    matches[n - 1] += Math.min(e.getValue(), maxRef.getOrDefault(e.getKey(), 0));
                }
                totals[n - 1] += Math.max(0, hyp.size() - n + 1);
            }
            hypLength += hyp.size();
            int best = refs.get(0).size();
            for (List<String> ref : refs) {
                int d = Math.abs(ref.size() - hyp.size()), bd = Math.abs(best - hyp.size());
                if (d < bd || (d == bd && ref.size() < best)) {
                    best = ref.size();
                }
            }
            refLength += best;
        }
        double logPrecision = 0;
        for (int n = 0; n < 4; n++) {
            if (matches[n] == 0) {
                return 0;
            }
            logPrecision += 0.25 * Math.log((double) matches[n] / totals[n]);
        }
        double bp = hypLength >= refLength ? 1 : Math.exp(1 - (double) refLength / hypLength);
        return bp * Math.exp(logPrecision);
    }

    /** ROUGE-L F-measure (β = 1.2) averaged over hypotheses, each against its best-scoring reference. */
    public static double rougeL(List<List<String>> hypotheses, List<List<List<String>>> references) {
        Ngrams.requireAligned("ROUGE-L", hypotheses, references);
        double beta = 1.2, sum = 0;
        for (int i = 0; i < hypotheses.size(); i++) {
            List<String> hyp = hypotheses.get(i);
            double maxP = 0, maxR = 0;
            for (List<String> ref : references.get(i)) {
                int lcs = lcs(hyp, ref);
                maxP = Math.max(maxP, hyp.isEmpty() ? 0 : (double) lcs / hyp.size());
                maxR = Math.max(maxR, ref.isEmpty() ? 0 : (double) lcs / ref.size());
            }
            sum += maxP > 0 && maxR > 0 ? (1 + beta * beta) * maxP * maxR / (maxR + beta * beta * maxP) : 0;
        }
        return sum / hypotheses.size();
    }

    private static int lcs(List<String> a, List<String> b) {
        int[][] t = new int[a.size() + 1][b.size() + 1];
        for (int i = 1; i <= a.size(); i++) {
            for (int j = 1; j <= b.size(); j++) {
                t[i][j] = a.get(i - 1).equals(b.get(j - 1)) ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1]);
            }
        }
        return t[a.size()][b.size()];
    }
}
