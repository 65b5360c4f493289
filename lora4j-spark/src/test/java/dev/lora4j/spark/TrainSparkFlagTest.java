package dev.lora4j.spark;

import dev.lora4j.cli.CliRun;
import dev.lora4j.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `lora4j train --spark` with the local command's flags and a recipe, and its errors on the driver. */
class TrainSparkFlagTest {
    @TempDir
    Path tmp;

    private static CliRun run(String... args) {
        return CliRun.run(args);
    }

    @Test
    void trainsWithTheLocalFlagsAndARecipe() throws Exception {
        Path model = TinyModels.bert(tmp.resolve("bert"));
        Path train = TinyModels.sentiment(tmp.resolve("train.tsv"), 48, 1);
        Path recipe = tmp.resolve("recipe.yaml");
        Files.writeString(recipe, "r: 4\nalpha: 8\nlr: 5e-3\nmax-steps: 3\nbatch-size: 8\nlog-every: 1\n");
        Path out = tmp.resolve("out");
        CliRun r = run("train", "--config", recipe.toString(), "--spark", "--master", "local[2]", "--spark-tasks", "2",
                "--model", model.toString(), "--train", train.toString(), "--out", out.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("spark: 2 tasks"), r.out());
        assertEquals(3, Files.readAllLines(out.resolve("metrics.jsonl")).stream().filter(l -> l.contains("\"loss\"")).count());
        assertTrue(Files.readString(out.resolve("adapter").resolve("adapter_config.json")).contains("\"r\": 4,"));
        assertTrue(Files.exists(out.resolve("loss.png")));
    }

    @Test
    void anUnreadableModelIsAnErrorOnTheDriver() throws Exception {
        Path train = TinyModels.sentiment(tmp.resolve("train.tsv"), 8, 1);
        CliRun r = run("train", "--spark", "--master", "local[2]", "--model", tmp.resolve("nowhere").toString(), "--train", train.toString(),
                "--out", tmp.resolve("o").toString());
        assertEquals(1, r.status());
        assertEquals("lora4j train: --model: " + tmp.resolve("nowhere") + " has no config.json (executors must be able to read the "
                + "model directory at this path)", r.err().strip());
    }

    @Test
    void anUnreachableMasterIsAnErrorWithinSeconds() throws Exception {
        Path train = TinyModels.sentiment(tmp.resolve("train.tsv"), 8, 1);
        Path model = TinyModels.bert(tmp.resolve("bert"));
        long t0 = System.nanoTime();
        CliRun r = run("train", "--spark", "--master", "spark://127.0.0.1:1", "--model", model.toString(), "--train", train.toString(),
                "--out", tmp.resolve("o").toString());
        assertEquals(1, r.status());
        assertTrue(r.err().startsWith("lora4j train: --master: cannot reach spark://127.0.0.1:1 (127.0.0.1:1: "), r.err());
        assertTrue((System.nanoTime() - t0) / 1e9 < 30);
    }
}
