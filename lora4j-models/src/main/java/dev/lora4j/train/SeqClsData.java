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
 * Reads sequence-classification data: TSV with a header naming a {@code sentence} (or {@code text}) column and a
 * {@code label} column, as GLUE's SST-2; or JSONL with {@code {"text"|"sentence": …, "label": n}} per line.
 * Labels are integers from 0. A bad row stops the read with the file, line and problem.
 */
public final class SeqClsData {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SeqClsData() {
    }

    /**
     * The examples of {@code file}.
     *
     * @throws IOException naming file and line for a missing file, missing column, bad label or empty text
     */
    public static List<LabeledText> read(Path file) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": file not found", e);
        }
        String name = file.getFileName().toString().toLowerCase();
        List<LabeledText> out = name.endsWith(".jsonl") || name.endsWith(".json") ? jsonl(file, lines) : tsv(file, lines);
        if (out.isEmpty()) {
            throw new IOException(file + ": no examples");
        }
        return out;
    }

    private static List<LabeledText> tsv(Path file, List<String> lines) throws IOException {
        if (lines.isEmpty()) {
            throw new IOException(file + ": empty file; expected a header line such as 'sentence<TAB>label'");
        }
        List<String> header = List.of(lines.get(0).strip().split("\t"));
        int textCol = header.indexOf("sentence") >= 0 ? header.indexOf("sentence") : header.indexOf("text");
        int labelCol = header.indexOf("label");
        if (textCol < 0 || labelCol < 0) {
            throw new IOException(file + ":1: header " + header + " must name a 'sentence' (or 'text') and a 'label' column, tab-separated");
        }
        List<LabeledText> out = new ArrayList<>(lines.size());
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            String[] cols = line.split("\t", -1);
            if (cols.length <= Math.max(textCol, labelCol)) {
                throw new IOException(file + ":" + (i + 1) + ": expected " + header.size() + " tab-separated columns, found " + cols.length);
            }
            out.add(example(file, i + 1, cols[textCol].strip(), cols[labelCol].strip()));
        }
        return out;
    }

    private static List<LabeledText> jsonl(Path file, List<String> lines) throws IOException {
        List<LabeledText> out = new ArrayList<>(lines.size());
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            JsonNode row;
            try {
                row = JSON.readTree(lines.get(i));
            } catch (IOException e) {
                throw new IOException(file + ":" + (i + 1) + ": not a JSON object");
            }
            JsonNode text = row.has("text") ? row.get("text") : row.get("sentence");
            if (text == null || !text.isTextual() || !row.has("label")) {
                throw new IOException(file + ":" + (i + 1) + ": expected {\"text\": \"…\", \"label\": n}");
            }
            out.add(example(file, i + 1, text.asText().strip(), row.get("label").asText()));
        }
        return out;
    }

    private static LabeledText example(Path file, int line, String text, String label) throws IOException {
        if (text.isEmpty()) {
            throw new IOException(file + ":" + line + ": empty text");
        }
        int y;
        try {
            y = Integer.parseInt(label);
        } catch (NumberFormatException e) {
            throw new IOException(file + ":" + line + ": label '" + label + "' is not an integer class index");
        }
        if (y < 0) {
            throw new IOException(file + ":" + line + ": label " + y + " is negative");
        }
        return new LabeledText(text, y, line);
    }
}
