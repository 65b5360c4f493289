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
 * Reads causal-LM data: lines of {@code context||completion} (the LoRA paper's E2E, WebNLG and DART format), or
 * JSONL with {@code {"prompt": …, "completion": …}} or {@code {"text": …}} per line. A bad line stops the read
 * with the file, line and problem.
 */
public final class CausalLmData {
    private static final ObjectMapper JSON = new ObjectMapper();

    private CausalLmData() {
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
        boolean jsonl = file.getFileName().toString().toLowerCase().endsWith(".jsonl");
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
