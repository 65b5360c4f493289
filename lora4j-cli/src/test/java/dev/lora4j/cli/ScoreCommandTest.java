package dev.lora4j.cli;

import dev.lora4j.io.PythonJson;
import dev.lora4j.metrics.Cider;
import dev.lora4j.metrics.NlgMetrics;
import dev.lora4j.metrics.Nist;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScoreCommandTest {
    @TempDir
    Path tmp;

    private static final List<List<String>> HYPS = List.of(NlgMetrics.tokenize("Aromi is a coffee shop."),
            NlgMetrics.tokenize("Cotto serves Italian food near the city centre."));
    private static final List<List<List<String>>> REFS = List.of(
            List.of(NlgMetrics.tokenize("Aromi is a coffee shop."), NlgMetrics.tokenize("There is a coffee shop called Aromi.")),
            List.of(NlgMetrics.tokenize("Cotto serves Italian food near the river.")));

    private Path hyps() throws Exception {
        return Files.writeString(tmp.resolve("hyps.txt"), "Aromi is a coffee shop.\nCotto serves Italian food near the city centre.\n");
    }

    private static void assertScores(CliRun run) {
        assertEquals(0, run.status(), run.err());
        for (String field : List.of("\"bleu\": " + PythonJson.floatRepr(NlgMetrics.bleu(HYPS, REFS)),
                "\"nist\": " + PythonJson.floatRepr(Nist.score(HYPS, REFS, 5)),
                "\"rouge_l\": " + PythonJson.floatRepr(NlgMetrics.rougeL(HYPS, REFS)),
                "\"cider\": " + PythonJson.floatRepr(Cider.score(HYPS, REFS)), "\"contexts\": 2")) {
            assertTrue(run.out().contains(field), run.out() + " should contain " + field);
        }
    }

    @Test
    void groupsReferencesByContextAndScores() throws Exception {
        Path data = Files.writeString(tmp.resolve("e2e.txt"), "name[Aromi]||Aromi is a coffee shop.\nname[Aromi]||There is a coffee shop called Aromi.\n"
                + "name[Cotto]||Cotto serves Italian food near the river.\n");
        assertScores(CliRun.run("score", "--refs", data.toString(), "--hyps", hyps().toString(), "--json"));
        assertScores(CliRun.run("nlg-eval", "--data", data.toString(), "--predictions", hyps().toString(), "--json"));
    }

    @Test
    void readsTheChallengesBlankLineSeparatedReferences() throws Exception {
        Path refs = Files.writeString(tmp.resolve("refs.txt"), "Aromi is a coffee shop.\nThere is a coffee shop called Aromi.\n\n"
                + "Cotto serves Italian food near the river.\n");
        assertScores(CliRun.run("score", "--refs", refs.toString(), "--hyps", hyps().toString(), "--json"));
    }

    @Test
    void aHypothesisCountThatDoesNotMatchIsAUserError() throws Exception {
        Path data = Files.writeString(tmp.resolve("e2e.txt"), "a||b\nc||d\n");
        Path one = Files.writeString(tmp.resolve("one.txt"), "only one line\n");
        CliRun run = CliRun.run("score", "--refs", data.toString(), "--hyps", one.toString());
        assertEquals(1, run.status());
        assertTrue(run.err().contains("has 1 lines, expected one per reference group"), run.err());
    }
}
