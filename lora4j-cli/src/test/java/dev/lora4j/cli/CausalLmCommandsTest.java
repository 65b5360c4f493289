package dev.lora4j.cli;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.models.gpt2.Gpt2Config;
import dev.lora4j.models.gpt2.Gpt2LmHeadModel;
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
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `train --task causal-lm`, `eval --task causal-lm` and `generate` on a small random GPT-2 with GPT-2's vocabulary. */
class CausalLmCommandsTest {
    @TempDir
    Path tmp;

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

    @Test
    void trainEvaluateAndGenerate() throws Exception {
        Path dir = tmp.resolve("gpt2");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\", \"vocab_size\": 50257, \"n_positions\": 64, "
                + "\"n_embd\": 16, \"n_layer\": 1, \"n_head\": 2}");
        Gpt2LmHeadModel m = new Gpt2LmHeadModel(new Gpt2Config(50257, 64, 16, 1, 2, null, "gelu_new", 1e-5f, 0f, 0f), 2);
        Map<String, Tensor> w = new LinkedHashMap<>();
        m.namedParameters().forEach((n, p) -> w.put(n.substring("transformer.".length()), p.value()));
        SafeTensors.write(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
        Path data = tmp.resolve("e2e.txt");
        Files.writeString(data, "name[Aromi], food[Chinese]||Aromi serves Chinese food.\nname[Cotto], food[Italian]||Cotto serves Italian food.\n");

        Path out = tmp.resolve("run");
        Run train = run("train", "--task", "causal-lm", "--model", dir.toString(), "--train", data.toString(), "--valid", data.toString(),
                "--out", out.toString(), "--max-steps", "3", "--batch-size", "2", "--r", "2", "--alpha", "4", "--label-smoothing", "0.1");
        assertEquals(0, train.status(), train.err());
        assertTrue(train.out().contains("perplexity"), train.out());
        assertTrue(Files.readString(out.resolve("adapter").resolve("adapter_config.json")).contains("\"task_type\": \"CAUSAL_LM\""));

        Run eval = run("eval", "--task", "causal-lm", "--model", dir.toString(), "--adapter", out.resolve("adapter").toString(),
                "--data", data.toString(), "--json");
        assertEquals(0, eval.status(), eval.err());
        assertTrue(eval.out().contains("\"perplexity\": "), eval.out());

        Run gen = run("generate", "--model", dir.toString(), "--adapter", out.resolve("adapter").toString(), "--prompts", data.toString(),
                "--num-beams", "3", "--max-new-tokens", "5", "--no-repeat-ngram-size", "2");
        assertEquals(0, gen.status(), gen.err());
        assertEquals(2, gen.out().strip().split("\n").length, gen.out());
    }
}
