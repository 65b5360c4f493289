package dev.lora4j.cli;

import dev.lora4j.metrics.NlgMetrics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NlgEvalCommandTest {
    @TempDir
    Path tmp;

    @Test
    void groupsReferencesByContextAndScores() throws Exception {
        Path data = tmp.resolve("e2e.txt");
        Files.writeString(data, "name[Aromi]||Aromi is a coffee shop.\nname[Aromi]||There is a coffee shop called Aromi.\n"
                + "name[Cotto]||Cotto serves Italian food near the river.\n");
        Path preds = tmp.resolve("preds.txt");
        Files.writeString(preds, "Aromi is a coffee shop.\nCotto serves Italian food near the city centre.\n");
        CommandLine cmd = Lora4j.commandLine();
        cmd.setErr(new PrintWriter(new StringWriter()));
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        try {
            assertEquals(0, Lora4j.run(cmd, "nlg-eval", "--data", data.toString(), "--predictions", preds.toString(), "--json"));
        } finally {
            System.setOut(saved);
        }
        List<List<String>> hyps = List.of(NlgMetrics.tokenize("Aromi is a coffee shop."),
                NlgMetrics.tokenize("Cotto serves Italian food near the city centre."));
        List<List<List<String>>> refs = List.of(
                List.of(NlgMetrics.tokenize("Aromi is a coffee shop."), NlgMetrics.tokenize("There is a coffee shop called Aromi.")),
                List.of(NlgMetrics.tokenize("Cotto serves Italian food near the river.")));
        String expected = String.format("\"bleu\": %s", dev.lora4j.io.PythonJson.floatRepr(NlgMetrics.bleu(hyps, refs)));
        assertTrue(buf.toString().contains(expected), buf + " should contain " + expected);
        assertTrue(buf.toString().contains("\"contexts\": 2"), buf.toString());

        Files.writeString(preds, "only one line\n");
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err));
        assertEquals(1, Lora4j.run(cmd, "nlg-eval", "--data", data.toString(), "--predictions", preds.toString()));
        assertTrue(err.toString().contains("has 1 lines, expected one per distinct context"), err.toString());
    }
}
