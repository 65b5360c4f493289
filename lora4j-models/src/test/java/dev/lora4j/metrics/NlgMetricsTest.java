package dev.lora4j.metrics;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class NlgMetricsTest {
    @Test
    @SuppressWarnings("unchecked")
    void bleuMatchesNltkCorpusBleu() throws Exception {
        List<Map<String, Object>> cases;
        try (InputStream in = getClass().getResourceAsStream("/fixtures/nlg/bleu.json")) {
            cases = new ObjectMapper().readValue(in, new TypeReference<>() { });
        }
        assertEquals(6, cases.size());
        for (Map<String, Object> c : cases) {
            double bleu = NlgMetrics.bleu((List<List<String>>) c.get("hypotheses"), (List<List<List<String>>>) c.get("references"));
            assertEquals((Double) c.get("bleu"), bleu, 1e-12);
        }
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
