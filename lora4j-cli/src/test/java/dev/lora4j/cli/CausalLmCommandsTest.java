package dev.lora4j.cli;

import dev.lora4j.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `train --task causal-lm`, `eval --task causal-lm` and `generate` on a small random GPT-2 with GPT-2's vocabulary. */
class CausalLmCommandsTest {
    @TempDir
    Path tmp;

    private static CliRun run(String... args) {
        return CliRun.run(args);
    }

    @Test
    void trainEvaluateAndGenerate() throws Exception {
        Path dir = TinyModels.gpt2(tmp.resolve("gpt2"));
        Path data = tmp.resolve("e2e.txt");
        Files.writeString(data, "name[Aromi], food[Chinese]||Aromi serves Chinese food.\nname[Cotto], food[Italian]||Cotto serves Italian food.\n");

        Path out = tmp.resolve("run");
        CliRun train = run("train", "--task", "causal-lm", "--model", dir.toString(), "--train", data.toString(), "--valid", data.toString(),
                "--out", out.toString(), "--max-steps", "3", "--batch-size", "2", "--r", "2", "--alpha", "4", "--label-smoothing", "0.1");
        assertEquals(0, train.status(), train.err());
        assertTrue(train.out().contains("perplexity"), train.out());
        assertTrue(Files.readString(out.resolve("adapter").resolve("adapter_config.json")).contains("\"task_type\": \"CAUSAL_LM\""));

        CliRun eval = run("eval", "--task", "causal-lm", "--model", dir.toString(), "--adapter", out.resolve("adapter").toString(),
                "--data", data.toString(), "--json");
        assertEquals(0, eval.status(), eval.err());
        assertTrue(eval.out().contains("\"perplexity\": "), eval.out());

        CliRun gen = run("generate", "--model", dir.toString(), "--adapter", out.resolve("adapter").toString(), "--prompts", data.toString(),
                "--num-beams", "3", "--max-new-tokens", "5", "--no-repeat-ngram-size", "2");
        assertEquals(0, gen.status(), gen.err());
        assertEquals(2, gen.out().strip().split("\n").length, gen.out());
    }

    @Test
    void theE2eRecipeRuns() throws Exception {
        Path dir = TinyModels.gpt2(tmp.resolve("gpt2"));
        Path data = tmp.resolve("e2e.txt");
        Files.writeString(data, "name[Aromi], food[Chinese]||Aromi serves Chinese food.\nname[Cotto], food[Italian]||Cotto serves Italian food.\n");
        Path out = tmp.resolve("recipe-run");
        CliRun r = run("train", "--config", Path.of("..", "recipes", "e2e-gpt2.yaml").toString(), "--model", dir.toString(),
                "--train", data.toString(), "--out", out.toString(), "--max-steps", "2", "--warmup-steps", "0", "--batch-size", "2");
        assertEquals(0, r.status(), r.err());
        String config = Files.readString(out.resolve("adapter").resolve("adapter_config.json"));
        assertTrue(config.contains("\"r\": 4,") && config.contains("\"lora_alpha\": 32,") && config.contains("\"lora_dropout\": 0.1,"), config);
    }
}
