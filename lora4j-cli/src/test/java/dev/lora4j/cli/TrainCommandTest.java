package dev.lora4j.cli;

import dev.lora4j.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.testing.TensorAssert;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `lora4j train`, `--resume` and `lora4j eval` on a small random BERT written as a Hugging Face directory. */
class TrainCommandTest {
    @TempDir
    Path tmp;

    private Path tinyBert() throws Exception {
        return TinyModels.bert(tmp.resolve("bert"));
    }

    private Path data(String name, int n, long seed) throws Exception {
        return TinyModels.sentiment(tmp.resolve(name), n, seed);
    }

    private static CliRun run(String... args) {
        return CliRun.run(args);
    }

    private static double loss(String line) {
        return Double.parseDouble(line.replaceAll(".*\"loss\": ([-0-9.eE]+).*", "$1"));
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
        CliRun full = run(concat(common, "--out", a.toString()));
        assertEquals(0, full.status(), full.err());
        assertTrue(Files.exists(a.resolve("adapter").resolve("adapter_model.safetensors")));
        assertTrue(Files.exists(a.resolve("checkpoint-4").resolve("optimizer.safetensors")));
        assertTrue(Files.exists(a.resolve("best").resolve("trainer_state.json")));

        Path b = tmp.resolve("b");
        CliRun resumed = run(concat(common, "--out", b.toString(), "--resume", a.resolve("checkpoint-4").toString()));
        assertEquals(0, resumed.status(), resumed.err());
        assertTrue(resumed.out().contains("resumed from"), resumed.out());
        List<String> uninterrupted = lossLines(a.resolve("metrics.jsonl"));
        assertEquals(8, uninterrupted.size());
        // The same steps, learning rates and losses, to the last bit: the first run starts with its kernels
        // interpreted, the resumed one finds them compiled, and the kernels give the same bits either way
        // (ReproducibleMath).
        List<String> resumedLines = lossLines(b.resolve("metrics.jsonl"));
        assertEquals(4, resumedLines.size());
        for (int i = 0; i < 4; i++) {
            String want = uninterrupted.get(4 + i), got = resumedLines.get(i);
            assertEquals(want.replaceAll("\"loss\": [^,]+", ""), got.replaceAll("\"loss\": [^,]+", ""));
            assertEquals(loss(want), loss(got), 0.0, want + " vs " + got);
        }
        SafeTensors.Contents wantAdapter = SafeTensors.read(a.resolve("adapter").resolve("adapter_model.safetensors"));
        SafeTensors.Contents gotAdapter = SafeTensors.read(b.resolve("adapter").resolve("adapter_model.safetensors"));
        assertEquals(wantAdapter.names(), gotAdapter.names());
        for (String name : wantAdapter.names()) {
            TensorAssert.assertClose(wantAdapter.tensor(name), gotAdapter.tensor(name), 0f, 0f);
        }

        java.awt.image.BufferedImage png = javax.imageio.ImageIO.read(a.resolve("loss.png").toFile());
        assertEquals(800, png.getWidth());

        CliRun eval = run("eval", "--model", model.toString(), "--adapter", a.resolve("adapter").toString(), "--data", valid.toString(), "--json");
        assertEquals(0, eval.status(), eval.err());
        assertTrue(eval.out().strip().matches("\\{\"accuracy\": [0-9.]+, \"examples\": 40, \"loss\": [0-9.]+}"), eval.out());
    }

    @Test
    void robertaTrainsWithLoraEvaluatesAndMergesToTheSameAccuracy() throws Exception {
        Path model = TinyModels.roberta(tmp.resolve("roberta"));
        Path train = data("train.tsv", 128, 1);
        Path valid = data("valid.tsv", 48, 2);
        Path out = tmp.resolve("r");
        CliRun before = run("eval", "--model", model.toString(), "--data", valid.toString(), "--json");
        assertEquals(0, before.status(), before.err());
        CliRun trained = run("train", "--model", model.toString(), "--train", train.toString(), "--out", out.toString(),
                "--max-steps", "40", "--batch-size", "16", "--lr", "2e-2", "--r", "4", "--log-every", "10");
        assertEquals(0, trained.status(), trained.err());
        // PEFT's names: the head is saved under its own name (SEQ_CLS adds it to modules_to_save by itself).
        assertTrue(SafeTensors.read(out.resolve("adapter").resolve("adapter_model.safetensors")).names().containsAll(List.of(
                "base_model.model.roberta.encoder.layer.0.attention.self.query.lora_A.weight",
                "base_model.model.classifier.out_proj.weight")));
        CliRun withAdapter = run("eval", "--model", model.toString(), "--adapter", out.resolve("adapter").toString(),
                "--data", valid.toString(), "--json");
        assertEquals(0, withAdapter.status(), withAdapter.err());
        // The cue word decides the label: the adapter learns it, the random head cannot know it.
        assertTrue(accuracy(withAdapter.out()) >= 0.9 && accuracy(before.out()) < 0.8, before.out() + withAdapter.out());
        Path merged = tmp.resolve("merged");
        CliRun merge = run("merge", "--model", model.toString(), "--adapter", out.resolve("adapter").toString(), "--out", merged.toString());
        assertEquals(0, merge.status(), merge.err());
        assertTrue(Files.exists(merged.resolve("vocab.json")) && Files.exists(merged.resolve("merges.txt")));
        CliRun afterMerge = run("eval", "--model", merged.toString(), "--data", valid.toString(), "--json");
        assertEquals(withAdapter.out().strip().replaceAll("\"loss\": [0-9.]+", ""), afterMerge.out().strip().replaceAll("\"loss\": [0-9.]+", ""));
        assertEquals(loss(withAdapter.out()), loss(afterMerge.out()), 1e-5);
    }

    private static double accuracy(String json) {
        return Double.parseDouble(json.replaceAll("(?s).*\"accuracy\": ([0-9.]+).*", "$1"));
    }

    @Test
    void aRecipeFileSetsFlagsAndTheCommandLineOverridesIt() throws Exception {
        Path model = tinyBert();
        Path train = data("train.tsv", 32, 1);
        Path recipe = tmp.resolve("recipe.yaml");
        Files.writeString(recipe, "model: " + model + "\ntrain: " + train + "\nmax-steps: 2\nbatch-size: 8\nlr: -1\n"
                + "targets: [query, value]\nlog_every: 1\nuse-dora: true\n");
        CliRun bad = run("train", "--config", recipe.toString(), "--out", tmp.resolve("r0").toString());
        assertEquals("lora4j train: --lr must be a positive number, got -1.0", bad.err().strip());   // from the recipe
        CliRun good = run("train", "--config", recipe.toString(), "--out", tmp.resolve("r1").toString(), "--lr", "1e-3");
        assertEquals(0, good.status(), good.err());
        assertEquals(2, lossLines(tmp.resolve("r1").resolve("metrics.jsonl")).size());
        assertTrue(Files.readString(tmp.resolve("r1").resolve("adapter").resolve("adapter_config.json")).contains("\"use_dora\": true"));
        CliRun missing = run("train", "--config", tmp.resolve("none.yaml").toString());
        assertEquals("lora4j: --config: " + tmp.resolve("none.yaml") + " not found", missing.err().strip());
    }

    @Test
    void badInputsAreOneLineErrors() throws Exception {
        Path model = tinyBert();
        Path bad = tmp.resolve("bad.tsv");
        Files.writeString(bad, "sentence\tlabel\ngood\tyes\n");
        CliRun r = run("train", "--model", model.toString(), "--train", bad.toString(), "--out", tmp.resolve("o").toString());
        assertEquals(1, r.status());
        assertEquals("lora4j train: " + bad + ":2: label 'yes' is not an integer class index", r.err().strip());
        CliRun lr = run("train", "--model", model.toString(), "--train", data("t.tsv", 4, 1).toString(), "--out",
                tmp.resolve("o").toString(), "--lr", "-1");
        assertEquals("lora4j train: --lr must be a positive number, got -1.0", lr.err().strip());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
