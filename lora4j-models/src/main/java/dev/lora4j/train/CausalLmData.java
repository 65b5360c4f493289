package dev.lora4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads causal-LM data: lines of {@code context||completion} (the LoRA paper's E2E format), JSONL with
 * {@code {"prompt": …, "completion": …}} or {@code {"text": …}} per line, or the WebNLG ({@code {"entries": …}})
 * and DART (a list of {@code {"tripleset", "annotations"}}) JSON releases, whose triples become the context as
 * the LoRA paper's converters write it ({@code subject : property : object | …}, one example per reference).
 * A bad line or entry stops the read with the file, line or entry, and problem.
 */
public final class CausalLmData {
    private static final ObjectMapper JSON = new ObjectMapper();

    private CausalLmData() {
    }

    /**
     * Splits examples into (train, validation) by context, so that all references of one meaning representation
     * land on the same side: the distinct contexts are shuffled with {@code seed} and the first
     * round(fraction × contexts) go to validation. Both keep the file order.
     *
     * @throws IllegalArgumentException if the fraction is not in (0, 1) or leaves either side empty
     */
    public static List<List<PromptCompletion>> splitByContext(List<PromptCompletion> examples, double fraction, long seed) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("--valid-split must be in (0, 1), got " + fraction);
        }
        List<String> contexts = new ArrayList<>(new java.util.LinkedHashSet<>(examples.stream().map(PromptCompletion::prompt).toList()));
        java.util.Collections.shuffle(contexts, new java.util.Random(seed));
        int n = (int) Math.round(fraction * contexts.size());
        if (n == 0 || n == contexts.size()) {
            throw new IllegalArgumentException("--valid-split " + fraction + " of " + contexts.size() + " contexts leaves one side empty");
        }
        java.util.Set<String> valid = new java.util.HashSet<>(contexts.subList(0, n));
        List<PromptCompletion> t = new ArrayList<>(), v = new ArrayList<>();
        for (PromptCompletion e : examples) {
            (valid.contains(e.prompt()) ? v : t).add(e);
        }
        return List.of(t, v);
    }

    // WebNLG: entries[i]{"k": {modifiedtripleset: [{subject, property, object}], lexicalisations: [{lex}]}};
    // DART: [{tripleset: [[s, p, o]], annotations: [{text}]}].
    private static List<PromptCompletion> triples(Path file, String text) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (IOException e) {
            throw new IOException(file + ": not valid JSON");
        }
        List<PromptCompletion> out = new ArrayList<>();
        if (root != null && root.has("entries")) {
            int i = 0;
            for (JsonNode wrapper : root.get("entries")) {
                i++;
                for (JsonNode entry : wrapper) {
                    List<String> triples = new ArrayList<>();
                    for (JsonNode t : entry.path("modifiedtripleset")) {
                        triples.add(clean(t.path("subject").asText()) + " : " + clean(t.path("property").asText()) + " : "
                                + clean(t.path("object").asText()));
                    }
                    addAll(out, file, "entry " + i, triples, entry.path("lexicalisations"), "lex", i);
                }
            }
        } else if (root != null && root.isArray()) {
            int i = 0;
            for (JsonNode entry : root) {
                i++;
                List<String> triples = new ArrayList<>();
                for (JsonNode t : entry.path("tripleset")) {
                    if (t.size() != 3) {
                        throw new IOException(file + ": entry " + i + ": a triple must have subject, property and object");
                    }
                    triples.add(t.get(0).asText() + " : " + t.get(1).asText() + " : " + t.get(2).asText());
                }
                addAll(out, file, "entry " + i, triples, entry.path("annotations"), "text", i);
            }
        } else {
            throw new IOException(file + ": expected WebNLG ({\"entries\": …}) or DART ([{\"tripleset\": …}]) JSON");
        }
        if (out.isEmpty()) {
            throw new IOException(file + ": no examples");
        }
        return out;
    }

    private static void addAll(List<PromptCompletion> out, Path file, String where, List<String> triples, JsonNode refs, String field,
                               int line) throws IOException {
        if (triples.isEmpty()) {
            throw new IOException(file + ": " + where + ": no triples");
        }
        String context = String.join(" | ", triples);
        for (JsonNode r : refs) {
            String ref = r.path(field).asText().strip();
            if (!ref.isEmpty()) {
                out.add(new PromptCompletion(context, ref, line));
            }
        }
    }

    // The LoRA paper's WebNLG converter writes DBpedia names with spaces and without quotes.
    private static String clean(String s) {
        return s.replace('_', ' ').replace("\"", "");
    }

    /**
     * The examples of {@code file}.
     *
     * @throws IOException naming file and line for a missing file, a line without "||", or an empty completion
     */
    public static List<PromptCompletion> read(Path file) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": file not found", e);
        }
        String lower = file.getFileName().toString().toLowerCase();
        if (lower.endsWith(".json")) {
            return triples(file, String.join("\n", lines));
        }
        boolean jsonl = lower.endsWith(".jsonl");
        List<PromptCompletion> out = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            String where = file + ":" + (i + 1) + ": ";
            PromptCompletion e;
            if (jsonl) {
                JsonNode row;
                try {
                    row = JSON.readTree(line);
                } catch (IOException ex) {
                    throw new IOException(where + "not a JSON object");
                }
                if (row.path("text").isTextual()) {
                    e = new PromptCompletion("", row.get("text").asText(), i + 1);
                } else if (row.path("prompt").isTextual() && row.path("completion").isTextual()) {
                    e = new PromptCompletion(row.get("prompt").asText(), row.get("completion").asText(), i + 1);
                } else {
                    throw new IOException(where + "expected {\"prompt\": …, \"completion\": …} or {\"text\": …}");
                }
            } else {
                int sep = line.indexOf("||");
                if (sep < 0) {
                    throw new IOException(where + "expected 'context||completion'");
                }
                e = new PromptCompletion(line.substring(0, sep).strip(), line.substring(sep + 2).strip(), i + 1);
            }
            if (e.completion().isBlank()) {
                throw new IOException(where + "empty completion");
            }
            out.add(e);
        }
        if (out.isEmpty()) {
            throw new IOException(file + ": no examples");
        }
        return out;
    }
}
