package dev.lora4j.cli;

import dev.lora4j.io.PythonJson;
import dev.lora4j.metrics.Cider;
import dev.lora4j.metrics.NlgMetrics;
import dev.lora4j.metrics.Nist;
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
 * {@code lora4j score} (alias {@code nlg-eval}): the E2E challenge's metrics — BLEU-4, NIST, ROUGE-L and CIDEr-D
 * — of generated texts against several references each. References come as a data file (lines of
 * {@code context||reference}, JSONL, WebNLG/DART JSON: one hypothesis per distinct context in order of first
 * appearance, as {@code lora4j generate --prompts} writes them) or as the challenge's plain multi-reference file
 * (one reference per line, a blank line between the groups of consecutive hypotheses). METEOR is not computed: no
 * JVM implementation is published on Maven Central.
 */
@Command(name = "score", aliases = "nlg-eval", mixinStandardHelpOptions = true,
        description = "BLEU, NIST, ROUGE-L and CIDEr of generated texts against multi-reference data (the E2E challenge's metrics).")
final class ScoreCommand implements java.util.concurrent.Callable<Integer> {
    @Option(names = {"--hyps", "--predictions"}, required = true, paramLabel = "FILE", description = "One generated text per line, one per reference group, in order.")
    Path hypotheses;

    @Option(names = {"--refs", "--data"}, required = true, paramLabel = "FILE",
            description = "context||reference lines (or JSONL, WebNLG/DART JSON): a group per distinct context; or plain lines with a blank line between groups.")
    Path references;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        List<List<List<String>>> refs = readReferences(references);
        if (!Files.isRegularFile(hypotheses)) {
            throw new IllegalArgumentException("--hyps: " + hypotheses + " not found");
        }
        List<String> lines = Files.readAllLines(hypotheses, StandardCharsets.UTF_8);
        if (lines.size() != refs.size()) {
            throw new IllegalArgumentException("--hyps: " + hypotheses + " has " + lines.size() + " lines, expected one per reference group in "
                    + references + " (" + refs.size() + ")");
        }
        List<List<String>> hyps = lines.stream().map(NlgMetrics::tokenize).toList();
        Map<String, Object> scores = new LinkedHashMap<>();
        scores.put("bleu", NlgMetrics.bleu(hyps, refs));
        scores.put("nist", Nist.score(hyps, refs, Nist.DEFAULT_ORDER));
        scores.put("rouge_l", NlgMetrics.rougeL(hyps, refs));
        scores.put("cider", Cider.score(hyps, refs));
        scores.put("contexts", refs.size());
        if (json) {
            System.out.println(PythonJson.dumpsLine(scores));
        } else {
            System.out.printf("BLEU %.4f  NIST %.4f  ROUGE-L %.4f  CIDEr %.4f  (%d contexts, %d references)%n", scores.get("bleu"),
                    scores.get("nist"), scores.get("rouge_l"), scores.get("cider"), refs.size(), refs.stream().mapToInt(List::size).sum());
        }
        return 0;
    }

    /** Tokenized reference groups from a data file, or from the challenge's blank-line-separated layout. */
    static List<List<List<String>>> readReferences(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--refs: " + file + " not found");
        }
        String name = file.getFileName().toString();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        boolean plain = name.endsWith(".txt") && lines.stream().noneMatch(l -> l.contains("||"));
        List<List<List<String>>> groups = new ArrayList<>();
        if (plain) {
            List<List<String>> group = new ArrayList<>();
            for (String line : lines) {
                if (line.isBlank()) {
                    if (!group.isEmpty()) {
                        groups.add(group);
                        group = new ArrayList<>();
                    }
                } else {
                    group.add(NlgMetrics.tokenize(line));
                }
            }
            if (!group.isEmpty()) {
                groups.add(group);
            }
            return groups;
        }
        Map<String, List<List<String>>> byContext = new LinkedHashMap<>();
        for (PromptCompletion e : CausalLmData.read(file)) {
            byContext.computeIfAbsent(e.prompt(), k -> new ArrayList<>()).add(NlgMetrics.tokenize(e.completion()));
        }
        groups.addAll(byContext.values());
        return groups;
    }
}
