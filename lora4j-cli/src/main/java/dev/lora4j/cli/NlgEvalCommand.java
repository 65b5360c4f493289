package dev.lora4j.cli;

import dev.lora4j.io.PythonJson;
import dev.lora4j.metrics.NlgMetrics;
import dev.lora4j.train.CausalLmData;
import dev.lora4j.train.PromptCompletion;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code lora4j nlg-eval}: BLEU and ROUGE-L of generated texts against the references of a
 * {@code context||reference} file, one prediction per distinct context in order of first appearance (the E2E
 * challenge's layout: several references per meaning representation).
 */
@Command(name = "nlg-eval", mixinStandardHelpOptions = true, description = "BLEU and ROUGE-L of predictions against context||reference data.")
final class NlgEvalCommand implements java.util.concurrent.Callable<Integer> {
    @Option(names = "--data", required = true, paramLabel = "FILE", description = "context||reference lines; lines with the same context are its references.")
    Path data;

    @Option(names = "--predictions", required = true, paramLabel = "FILE", description = "One generated text per distinct context, in order.")
    Path predictions;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        Map<String, List<List<String>>> refs = new LinkedHashMap<>();
        for (PromptCompletion e : CausalLmData.read(data)) {
            refs.computeIfAbsent(e.prompt(), k -> new ArrayList<>()).add(NlgMetrics.tokenize(e.completion()));
        }
        if (!Files.isRegularFile(predictions)) {
            throw new IllegalArgumentException("--predictions: " + predictions + " not found");
        }
        List<String> lines = Files.readAllLines(predictions, StandardCharsets.UTF_8);
        if (lines.size() != refs.size()) {
            throw new IllegalArgumentException("--predictions: " + predictions + " has " + lines.size() + " lines, expected one per distinct context in "
                    + data + " (" + refs.size() + ")");
        }
        List<List<String>> hyps = lines.stream().map(NlgMetrics::tokenize).toList();
        List<List<List<String>>> refLists = new ArrayList<>(refs.values());
        double bleu = NlgMetrics.bleu(hyps, refLists);
        double rouge = NlgMetrics.rougeL(hyps, refLists);
        if (json) {
            System.out.println(PythonJson.dumpsLine(Map.of("bleu", bleu, "rouge_l", rouge, "contexts", refs.size())));
        } else {
            System.out.printf("BLEU %.4f  ROUGE-L %.4f  (%d contexts, %d references)%n", bleu, rouge, refs.size(),
                    refLists.stream().mapToInt(List::size).sum());
        }
        return 0;
    }
}
