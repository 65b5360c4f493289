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
        // the adapter trained: the base model's loss on the training data is higher than with it
        assertTrue(evalLoss(dir, out.resolve("adapter"), data)
                < evalLoss(dir, null, data) - 1e-3, "training moved the adapter");

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
    void aBf16BaseTrainsEvaluatesAndGeneratesAsAFloat32BaseHoldingTheRoundedWeights() throws Exception {
        Path dir = TinyModels.gpt2(tmp.resolve("gpt2"));
        // The reference: the same model saved in bf16, which loads into float32 parameters holding the rounded values.
        Path rounded = Files.createDirectories(tmp.resolve("gpt2-bf16"));
        Files.copy(dir.resolve("config.json"), rounded.resolve("config.json"));
        dev.lora4j.models.HfModelDir.saveWeights(dev.lora4j.models.gpt2.Gpt2LmHeadModel.load(dir), DType.BF16, rounded);
        Path data = tmp.resolve("e2e.txt");
        Files.writeString(data, "name[Aromi], food[Chinese]||Aromi serves Chinese food.\nname[Cotto], food[Italian]||Cotto serves Italian food.\n");
        String[] common = {"train", "--task", "causal-lm", "--train", data.toString(), "--max-steps", "3", "--batch-size", "2",
                "--r", "2", "--alpha", "4", "--lr", "1e-2", "--dropout", "0"};
        CliRun bf16 = run(concat(common, "--model", dir.toString(), "--out", tmp.resolve("a").toString(), "--base-dtype", "bf16"));
        assertEquals(0, bf16.status(), bf16.err());
        assertTrue(bf16.out().contains("frozen base weights stored as BF16"), bf16.out());
        CliRun f32 = run(concat(common, "--model", rounded.toString(), "--out", tmp.resolve("b").toString()));
        assertEquals(0, f32.status(), f32.err());
        SafeTensors.Contents a = SafeTensors.read(tmp.resolve("a").resolve("adapter").resolve("adapter_model.safetensors"));
        SafeTensors.Contents b = SafeTensors.read(tmp.resolve("b").resolve("adapter").resolve("adapter_model.safetensors"));
        assertEquals(b.names(), a.names());
        for (String name : a.names()) {
            TensorAssert.assertClose(b.tensor(name), a.tensor(name), 1e-6f, 1e-4f);
        }
        // eval and generate store the base the same way: as if the rounded model had been loaded.
        String[] evalArgs = {"eval", "--task", "causal-lm", "--adapter", tmp.resolve("a").resolve("adapter").toString(),
                "--data", data.toString(), "--json"};
        CliRun evalBf16 = run(concat(evalArgs, "--model", dir.toString(), "--base-dtype", "bf16"));
        CliRun evalRounded = run(concat(evalArgs, "--model", rounded.toString()));
        assertEquals(0, evalBf16.status(), evalBf16.err());
        for (String field : List.of("loss", "token_accuracy")) {
            double want = jsonNumber(evalRounded.out(), field);
            assertEquals(want, jsonNumber(evalBf16.out(), field), 1e-5 * Math.abs(want), field);
        }
        String[] genArgs = {"generate", "--prompts", data.toString(), "--max-new-tokens", "6"};
        CliRun genBf16 = run(concat(genArgs, "--model", dir.toString(), "--base-dtype", "bf16"));
        assertEquals(0, genBf16.status(), genBf16.err());
        assertEquals(run(concat(genArgs, "--model", rounded.toString())).out(), genBf16.out());
        CliRun full = run(concat(common, "--model", dir.toString(), "--out", tmp.resolve("c").toString(), "--base-dtype", "bf16", "--full"));
        assertEquals("lora4j train: --base-dtype bf16: with --full every weight trains in float32", full.err().strip());
    }

    private static double jsonNumber(String json, String field) {
        return Double.parseDouble(json.replaceAll("(?s).*\"" + field + "\": ([-0-9.eE]+).*", "$1"));
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
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
        String config = Files.readString(out.resolve("adapter").resolve("loralib_config.json"));
        assertTrue(config.contains("\"r\": 4,") && config.contains("\"lora_alpha\": 32.0,") && config.contains("\"lora_dropout\": 0.1,")
                && config.contains("\"enable_lora\": [\n    true,\n    false,\n    true\n  ]"), config);
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

    @Test
    void qAndVOnlyMergedLinearTrainsSavesEvaluatesAndMerges() throws Exception {
        Path dir = TinyModels.gpt2(tmp.resolve("gpt2"));              // n_embd 16: c_attn is 16 → 48, q|k|v of 16 each
        Path data = tmp.resolve("e2e.txt");
        Files.writeString(data, "name[Aromi], food[Chinese]||Aromi serves Chinese food.\nname[Cotto], food[Italian]||Cotto serves Italian food.\n");
        Path out = tmp.resolve("qv");
        CliRun train = run("train", "--task", "causal-lm", "--model", dir.toString(), "--train", data.toString(), "--valid", data.toString(),
                "--out", out.toString(), "--max-steps", "4", "--batch-size", "2", "--r", "2", "--alpha", "4", "--lr", "1e-2",
                "--enable-lora", "true,false,true", "--dropout", "0");
        assertEquals(0, train.status(), train.err());
        // one layer: lora_A (2·r × 16) + lora_B (2·16 × r) = 64 + 64 trainable values
        assertTrue(train.out().contains("trainable params: 128 ||"), train.out());

        Path adapter = out.resolve("adapter");
        String config = Files.readString(adapter.resolve("loralib_config.json"));
        assertTrue(config.contains("\"enable_lora\": [\n    true,\n    false,\n    true\n  ]"), config);
        SafeTensors.Contents w = SafeTensors.read(adapter.resolve("loralib_model.safetensors"));
        assertEquals(List.of("transformer.h.0.attn.c_attn.lora_A", "transformer.h.0.attn.c_attn.lora_B"), w.names().stream().sorted().toList());
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[]{4, 16}, w.entry("transformer.h.0.attn.c_attn.lora_A").shape());
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[]{32, 2}, w.entry("transformer.h.0.attn.c_attn.lora_B").shape());

        // The adapter changes the loss; merged weights give the adapter's loss, and k's columns are the base's.
        double base = evalLoss(dir, null, data);
        double withAdapter = evalLoss(dir, adapter, data);
        assertTrue(withAdapter < base - 1e-3, base + " -> " + withAdapter);
        Path merged = tmp.resolve("merged");
        CliRun merge = run("merge", "--model", dir.toString(), "--adapter", adapter.toString(), "--out", merged.toString(), "--safe");
        assertEquals(0, merge.status(), merge.err());
        assertEquals(withAdapter, evalLoss(merged, null, data), 1e-5);
        float[] before = SafeTensors.read(dir.resolve("model.safetensors")).tensor("h.0.attn.c_attn.weight").toFloatArray();
        float[] after = SafeTensors.read(merged.resolve("model.safetensors")).tensor("h.0.attn.c_attn.weight").toFloatArray();
        int changedK = 0, changedQ = 0;
        for (int row = 0; row < 16; row++) {                          // Conv1D weight (in, out): column c is output c
            for (int c = 0; c < 48; c++) {
                boolean changed = before[row * 48 + c] != after[row * 48 + c];
                changedQ += c < 16 && changed ? 1 : 0;
                changedK += c >= 16 && c < 32 && changed ? 1 : 0;
            }
        }
        assertEquals(0, changedK, "k has no update");
        assertTrue(changedQ > 0, "q has one");

        // A broken adapter (NaN in lora_B): --safe refuses to merge and writes nothing.
        Path broken = Files.createDirectories(tmp.resolve("broken"));
        Files.copy(adapter.resolve("loralib_config.json"), broken.resolve("loralib_config.json"));
        java.util.Map<String, dev.lora4j.tensor.Tensor> state = new java.util.LinkedHashMap<>();
        for (String name : w.names()) {
            state.put(name, w.tensor(name).copy());
        }
        state.get("transformer.h.0.attn.c_attn.lora_B").set(Float.NaN, 0, 0);
        SafeTensors.write(broken.resolve("loralib_model.safetensors"), state, java.util.Map.of("format", "pt"));
        Path refused = tmp.resolve("refused");
        CliRun unsafe = run("merge", "--model", dir.toString(), "--adapter", broken.toString(), "--out", refused.toString(), "--safe");
        assertEquals(1, unsafe.status());
        assertTrue(unsafe.err().contains("NaNs detected in the merged weights"), unsafe.err());
        assertTrue(!Files.exists(refused.resolve("model.safetensors")), "nothing written");
    }

    private double evalLoss(Path model, Path adapter, Path data) {
        List<String> args = new java.util.ArrayList<>(List.of("eval", "--task", "causal-lm", "--model", model.toString(), "--data", data.toString(), "--json"));
        if (adapter != null) {
            args.addAll(List.of("--adapter", adapter.toString()));
        }
        CliRun r = run(args.toArray(String[]::new));
        assertEquals(0, r.status(), r.err());
        return Double.parseDouble(r.out().replaceAll("(?s).*\"loss\": ([-0-9.eE]+).*", "$1"));
    }
}
