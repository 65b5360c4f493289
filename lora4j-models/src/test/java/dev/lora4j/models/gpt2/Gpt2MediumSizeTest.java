package dev.lora4j.models.gpt2;

import dev.lora4j.models.HfModelDir;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
        Path dir = tmp.resolve("gpt2-medium");
        Gpt2LmHeadModel model = FullSizeGpt2.initialised(dir, "gpt2-medium-config.json", 11);
        // 50257·1024 + 1024·1024 + 24·12,596,224 + 2·1024: transformers' count for gpt2-medium (tied head)
        assertEquals(354_823_168L, model.namedParameters().values().stream().mapToLong(Parameter::numel).sum());
        float[] full = FullSizeGpt2.assertIncrementalDecodingMatches(model);

        HfModelDir.saveWeights(model, DType.F32, dir);
        model = null;                                        // the 4 GB test heap holds one medium model at a time
        Gpt2LmHeadModel loaded = Gpt2LmHeadModel.load(dir);
        loaded.eval();
        // Same weights, same logits — to float rounding: a lane reduction may sum in another order depending on
        // whether the JIT has compiled it yet.
        float[] again = loaded.forward(FullSizeGpt2.IDS, 1, FullSizeGpt2.IDS.length).toFloatArray();
        for (int i = 0; i < full.length; i++) {
            assertEquals(full[i], again[i], 1e-5f + 1e-5f * Math.abs(full[i]), "logit " + i);
        }
    }
}
