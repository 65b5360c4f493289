package dev.lora4j.cli;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.models.HfModelDir;
import dev.lora4j.models.bert.BertConfig;
import dev.lora4j.models.bert.BertForSequenceClassification;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `lora4j train`, `--resume` and `lora4j eval` on a small random BERT written as a Hugging Face directory. */
class TrainCommandTest {
    @TempDir
    Path tmp;

    private static final List<String> WORDS = List.of("good", "bad", "the", "movie", "was", "very", "plot", "and");

    private Path tinyBert() throws Exception {
        Path dir = tmp.resolve("bert");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), """
                {"model_type": "bert", "vocab_size": 12, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
                 "intermediate_size": 32, "max_position_embeddings": 16, "type_vocab_size": 2, "hidden_act": "gelu",
                 "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.1, "num_labels": 2}""");
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]"));
        vocab.addAll(WORDS);
        Files.write(dir.resolve("vocab.txt"), vocab);
        BertForSequenceClassification m = new BertForSequenceClassification(HfModelDir.readConfig(dir, BertConfig.class), 5);
        Map<String, Tensor> w = new LinkedHashMap<>();
        m.namedParameters().forEach((n, p) -> w.put(n, p.value()));
        SafeTensors.write(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
        return dir;
    }

    private Path data(String name, int n, long seed) throws Exception {
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder("sentence\tlabel\n");
        for (int i = 0; i < n; i++) {
            int label = r.nextInt(2);
            sb.append(String.join(" ", WORDS.get(2 + r.nextInt(6)), label == 1 ? "good" : "bad", WORDS.get(2 + r.nextInt(6))))
                    .append('\t').append(label).append('\n');
        }
        Path f = tmp.resolve(name);
        Files.writeString(f, sb.toString());
        return f;
    }

    private record Run(int status, String out, String err) {
    }

    private static Run run(String... args) {
        CommandLine cmd = Lora4j.commandLine();
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err));
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        try {
            return new Run(cmd.execute(args), buf.toString(), err.toString());
        } finally {
            System.setOut(saved);
        }
    }

    private static List<String> lossLines(Path metrics) throws Exception {
        return Files.readAllLines(metrics).stream().filter(l -> l.contains("\"loss\"")).map(l -> l.replaceAll(", \"tokens_per_second\": [^,}]+", "")).toList();
    }

    @Test
    void resumedRunFollowsTheUninterruptedLossCurveExactly() throws Exception {
        Path model = tinyBert();
        Path train = data("train.tsv", 96, 1);
        Path valid = data("valid.tsv", 40, 2);
        String[] common = {"train", "--model", model.toString(), "--train", train.toString(), "--valid", valid.toString(),
                "--max-steps", "8", "--batch-size", "8", "--lr", "5e-3", "--log-every", "1", "--save-every", "4",
                "--eval-every", "4", "--r", "4", "--dropout", "0.1"};
        Path a = tmp.resolve("a");
        Run full = run(concat(common, "--out", a.toString()));
        assertEquals(0, full.status(), full.err());
        assertTrue(Files.exists(a.resolve("adapter").resolve("adapter_model.safetensors")));
        assertTrue(Files.exists(a.resolve("checkpoint-4").resolve("optimizer.safetensors")));
        assertTrue(Files.exists(a.resolve("best").resolve("trainer_state.json")));

        Path b = tmp.resolve("b");
        Run resumed = run(concat(common, "--out", b.toString(), "--resume", a.resolve("checkpoint-4").toString()));
        assertEquals(0, resumed.status(), resumed.err());
        assertTrue(resumed.out().contains("resumed from"), resumed.out());
        List<String> uninterrupted = lossLines(a.resolve("metrics.jsonl"));
        assertEquals(8, uninterrupted.size());
        assertEquals(uninterrupted.subList(4, 8), lossLines(b.resolve("metrics.jsonl")));
        assertEquals(Files.readAllBytes(a.resolve("adapter").resolve("adapter_model.safetensors")).length,
                Files.readAllBytes(b.resolve("adapter").resolve("adapter_model.safetensors")).length);
        assertTrue(java.util.Arrays.equals(Files.readAllBytes(a.resolve("adapter").resolve("adapter_model.safetensors")),
                Files.readAllBytes(b.resolve("adapter").resolve("adapter_model.safetensors"))), "final adapters differ");

        Run eval = run("eval", "--model", model.toString(), "--adapter", a.resolve("adapter").toString(), "--data", valid.toString(), "--json");
        assertEquals(0, eval.status(), eval.err());
        assertTrue(eval.out().strip().matches("\\{\"accuracy\": [0-9.]+, \"examples\": 40, \"loss\": [0-9.]+}"), eval.out());
    }

    @Test
    void badInputsAreOneLineErrors() throws Exception {
        Path model = tinyBert();
        Path bad = tmp.resolve("bad.tsv");
        Files.writeString(bad, "sentence\tlabel\ngood\tyes\n");
        Run r = run("train", "--model", model.toString(), "--train", bad.toString(), "--out", tmp.resolve("o").toString());
        assertEquals(1, r.status());
        assertEquals("lora4j train: " + bad + ":2: label 'yes' is not an integer class index", r.err().strip());
        Run lr = run("train", "--model", model.toString(), "--train", data("t.tsv", 4, 1).toString(), "--out",
                tmp.resolve("o").toString(), "--lr", "-1");
        assertEquals("lora4j train: --lr must be a positive number, got -1.0", lr.err().strip());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
