package dev.lora4j.cli;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.tensor.DType;
import dev.lora4j.testing.TensorAssert;
import dev.lora4j.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

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

    @Test
    void pretrainsFromScratchAndExportsAHuggingFaceDirectoryInBf16() throws Exception {
        Path base = Files.createDirectories(tmp.resolve("shape"));
        Files.writeString(base.resolve("config.json"), """
                {"model_type": "gpt2", "vocab_size": 50257, "n_positions": 16, "n_embd": 16, "n_layer": 1, "n_head": 2,
                 "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0}""");
        Path text = tmp.resolve("text.jsonl");
        Files.writeString(text, "{\"text\": \"a fine film\"}\n{\"text\": \"a dull film\"}\n".repeat(4));
        Path out = tmp.resolve("pretrain");
        CliRun r = run("train", "--task", "causal-lm", "--from-scratch", "--model", base.toString(), "--train", text.toString(),
                "--out", out.toString(), "--max-steps", "6", "--batch-size", "4", "--lr", "1e-2", "--schedule", "constant", "--save-dtype", "bf16", "--max-length", "64", "--log-every", "1");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("training every weight"), r.out());

        List<Double> losses = Files.readAllLines(out.resolve("metrics.jsonl")).stream().filter(l -> l.contains("\"loss\""))
                .map(l -> Double.parseDouble(l.replaceAll(".*\"loss\": ([-0-9.eE]+).*", "$1"))).toList();
        assertEquals(6, losses.size());
        assertEquals(Math.log(50257), losses.get(0), 0.3, "a model initialised at N(0, 0.02) starts near uniform over the vocabulary");
        assertTrue(losses.get(5) < losses.get(0) - 0.5, "pretraining lowers the loss: " + losses);

        // The export is the last checkpoint's float32 weights rounded to bf16, under transformers' names.
        Path model = out.resolve("model");
        assertEquals(Files.readString(base.resolve("config.json")), Files.readString(model.resolve("config.json")));
        SafeTensors.Contents exported = SafeTensors.read(model.resolve("model.safetensors"));
        SafeTensors.Contents last = SafeTensors.read(out.resolve("checkpoint-6").resolve("model.safetensors"));
        assertEquals(last.names(), exported.names());
        assertTrue(exported.names().contains("transformer.h.0.attn.c_attn.weight"), exported.names().toString());
        for (String name : last.names()) {
            assertEquals("BF16", exported.entry(name).dtype(), name);
            TensorAssert.assertClose(last.tensor(name).to(DType.BF16).to(DType.F32), exported.tensor(name).to(DType.F32), 0f, 0f);
        }
        CliRun eval = run("eval", "--task", "causal-lm", "--model", model.toString(), "--data", text.toString(), "--json");
        assertEquals(0, eval.status(), eval.err());
    }

    @Test
    void fromScratchNeedsACausalLmShape() {
        CliRun r = run("train", "--task", "seq-cls", "--from-scratch", "--model", tmp.toString(), "--train", "x.tsv", "--out", tmp.resolve("o").toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("--from-scratch"), r.err());
    }
}
