package dev.lora4j.metrics;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class NlgMetricsTest {
    private List<Map<String, Object>> cases() throws Exception {
        try (InputStream in = getClass().getResourceAsStream("/fixtures/nlg/bleu.json")) {
            List<Map<String, Object>> cases = new ObjectMapper().readValue(in, new TypeReference<>() { });
            assertEquals(6, cases.size());
            return cases;
        }
    }

    @SuppressWarnings("unchecked")
    private static List<List<String>> hyps(Map<String, Object> c) {
        return (List<List<String>>) c.get("hypotheses");
    }

    @SuppressWarnings("unchecked")
    private static List<List<List<String>>> refs(Map<String, Object> c) {
        return (List<List<List<String>>>) c.get("references");
    }

    @Test
    void bleuMatchesNltkCorpusBleu() throws Exception {
        for (Map<String, Object> c : cases()) {
            assertEquals((Double) c.get("bleu"), NlgMetrics.bleu(hyps(c), refs(c)), 1e-12);
        }
    }

    @Test
    void nistMatchesNltkCorpusNist() throws Exception {
        for (Map<String, Object> c : cases()) {
            assertEquals((Double) c.get("nist"), Nist.score(hyps(c), refs(c), Nist.DEFAULT_ORDER), 1e-9);
        }
    }

    @Test
    void ciderMatchesTheFormulaWrittenInPython() throws Exception {
        for (Map<String, Object> c : cases()) {
            assertEquals((Double) c.get("cider"), Cider.score(hyps(c), refs(c)), 1e-9);
        }
    }

    @Test
    void nistAgainstHandComputedValues() {
        // One context, hypothesis = reference "a b": unigrams carry log2(2/1) = 1 bit each, the bigram
        // log2(count(a)/count(a b)) = 0; precision 2/2 at order 1, 0 above: NIST = 1, no length penalty.
        List<String> ab = List.of("a", "b");
        assertEquals(1.0, Nist.score(List.of(ab), List.of(List.of(ab)), 5), 1e-12);
        // A hypothesis 2/3 of the reference length is penalised by exactly 0.5.
        assertEquals(0.5, Nist.lengthPenalty(3, 2), 1e-12);
        assertEquals(1.0, Nist.lengthPenalty(3, 4), 1e-12);
    }

    @Test
    void ciderAgainstHandComputedValues() {
        // Two contexts, each hypothesis equal to its single reference, no n-gram shared between contexts: each
        // order's similarity is 1, so CIDEr-D = 10 · 4/4; three-word sentences have no 4-grams: 10 · 3/4.
        List<List<String>> hyps = List.of(List.of("a", "b", "c", "d"), List.of("w", "x", "y", "z"));
        assertEquals(10.0, Cider.score(hyps, List.of(List.of(hyps.get(0)), List.of(hyps.get(1)))), 1e-12);
        List<List<String>> short3 = hyps.stream().map(h -> h.subList(0, 3)).toList();
        assertEquals(7.5, Cider.score(short3, List.of(List.of(short3.get(0)), List.of(short3.get(1)))), 1e-12);
        // An n-gram in every context has idf 0: a corpus of one context scores 0 whatever it says.
        assertEquals(0.0, Cider.score(List.of(List.of("a", "b")), List.of(List.of(List.of("a", "b")))), 1e-12);
    }

    @Test
    void rougeLAgainstHandComputedValues() {
        // LCS("a b c d", "a c d e") = 3: P = 3/4, R = 3/4, F = 0.75; the second reference is worse
        List<String> hyp = List.of("a", "b", "c", "d");
        double f = NlgMetrics.rougeL(List.of(hyp), List.of(List.of(List.of("a", "c", "d", "e"), List.of("x"))));
        assertEquals(0.75, f, 1e-12);
        // P = 2/2, R = 2/4: F = (1 + 1.44)·1·0.5 / (0.5 + 1.44·1)
        double g = NlgMetrics.rougeL(List.of(List.of("a", "b")), List.of(List.of(List.of("a", "x", "b", "y"))));
        assertEquals(2.44 * 0.5 / 1.94, g, 1e-12);
    }

    @Test
    void tokenizeSplitsPunctuationAndLowerCases() {
        assertEquals(List.of("aromi", "is", "a", "coffee", "shop", ",", "near", "the", "city", "centre", "."),
                NlgMetrics.tokenize("Aromi is a coffee shop, near the city centre."));
    }
}
