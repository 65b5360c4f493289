package dev.lora4j.models.gpt2;

import dev.lora4j.models.HfModelDir;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.DType;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * GPT-2 at the seed's gpt2.md size, from transformers' own gpt2-medium config.json: the parameter count
 * transformers reports, a save/load round trip of the 1.4 GB checkpoint, and incremental decoding against full
 * forwards (24 layers, 16 heads of 64).
 */
class Gpt2MediumSizeTest {
    @TempDir
    Path tmp;

    @Test
    void gpt2MediumLoadsRoundTripsAndDecodesIncrementally() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("gpt2-medium"));
        Files.copy(Path.of(getClass().getResource("/fixtures/models/gpt2-medium-config.json").toURI()), dir.resolve("config.json"));
        Gpt2Config config = HfModelDir.readConfig(dir, Gpt2Config.class);
        Gpt2LmHeadModel model = Gpt2LmHeadModel.initialised(config, 11);
        // 50257·1024 + 1024·1024 + 24·12,596,224 + 2·1024: transformers' count for gpt2-medium (tied head)
        assertEquals(354_823_168L, model.namedParameters().values().stream().mapToLong(Parameter::numel).sum());

        model.eval();
        int[] ids = {464, 3290, 318, 257, 922, 1110, 13, 383};
        int T = ids.length;
        float[] full = model.forward(ids, 1, T).toFloatArray();
        int V = config.vocabSize();

        // One token at a time through the KV cache: each step's logits are the full forward's at that position.
        KvCache cache = model.transformer().newCache(1, T);
        for (int t = 0; t < T; t++) {
            float[] step = model.nextTokenLogits(new int[]{ids[t]}, 1, 1, cache).toFloatArray();
            for (int v = 0; v < V; v += 97) {
                assertEquals(full[t * V + v], step[v], 2e-3f + 1e-4f * Math.abs(full[t * V + v]), "position " + t + ", token " + v);
            }
        }

        HfModelDir.saveWeights(model, DType.F32, dir);
        model = null;                                        // the 4 GB test heap holds one medium model at a time
        Gpt2LmHeadModel loaded = Gpt2LmHeadModel.load(dir);
        loaded.eval();
        // Same weights, same logits — to float rounding: a lane reduction may sum in another order depending on
        // whether the JIT has compiled it yet.
        float[] again = loaded.forward(ids, 1, T).toFloatArray();
        for (int i = 0; i < full.length; i++) {
            assertEquals(full[i], again[i], 1e-5f + 1e-5f * Math.abs(full[i]), "logit " + i);
        }
    }
}
