package dev.lora4j.models.gpt2;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.models.HfModelDir;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Parameter;
import dev.lora4j.optim.AdamW;
import dev.lora4j.tensor.DType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPT-2 at the seed's gpt2.lg size, from transformers' gpt2-large config.json (36 layers, 1280 wide, 20 heads of
 * 64): the parameter count transformers reports, incremental decoding against full forwards, a bf16 checkpoint
 * (1.5 GB) saved and reloaded to the logits of the rounded weights, and LoRA training on a bf16 frozen base.
 * Tagged "large": it needs a 12 GB heap and about two minutes, so it runs in scripts/check-large, not in
 * ./scripts/test.
 */
@Tag("large")
class Gpt2LargeSizeTest {
    @TempDir
    Path tmp;

    @Test
    void gpt2LargeDecodesRoundTripsInBf16AndTrainsLoraOnABf16Base() throws Exception {
        Path dir = tmp.resolve("gpt2-large");
        Gpt2LmHeadModel model = FullSizeGpt2.initialised(dir, "gpt2-large-config.json", 12);
        // 50257·1280 + 1024·1280 + 36·19,677,440 + 2·1280: transformers' count for gpt2-large (tied head)
        assertEquals(774_030_080L, model.namedParameters().values().stream().mapToLong(Parameter::numel).sum());
        model.requiresGrad(false);
        float[] full = FullSizeGpt2.assertIncrementalDecodingMatches(model);
        int[] ids = FullSizeGpt2.IDS;
        int T = ids.length;
        int V = model.transformer().config().vocabSize();

        HfModelDir.saveWeights(model, DType.BF16, dir);
        long bytes = Files.size(dir.resolve(HfModelDir.WEIGHTS_FILE));
        assertTrue(bytes > 2 * 774_030_080L && bytes < 2 * 774_030_080L + (1 << 20), "bf16 file of " + bytes + " bytes");
        // The reference: this model with its frozen weights stored in bf16, i.e. rounded as the file rounds them.
        model.storeFrozenAs(DType.BF16);
        float[] rounded = model.forward(ids, 1, T).toFloatArray();
        model = null;                                        // one large model in the heap at a time

        Gpt2LmHeadModel loaded = Gpt2LmHeadModel.load(dir);
        loaded.requiresGrad(false);
        loaded.storeFrozenAs(DType.BF16);
        loaded.eval();
        float[] again = loaded.forward(ids, 1, T).toFloatArray();
        for (int i = 0; i < full.length; i++) {
            assertEquals(rounded[i], again[i], 1e-4f + 1e-4f * Math.abs(rounded[i]), "logit " + i);
        }

        // LoRA r=4 on c_attn over the bf16 base: a few AdamW steps on one batch lower its loss.
        LoraModel lora = LoraModel.inject(loaded, LoraConfig.builder().r(4).loraAlpha(32).targetModules("c_attn")
                .fanInFanOut(true).build(), 3);
        loaded.train(true);
        AdamW optimizer = new AdamW(loaded.trainableParameters(), 0.9f, 0.999f, 1e-8f, 0.0f);
        int B = 2;
        int S = 32;
        Random rng = new Random(5);
        int[] batch = new int[B * S];
        int[] labels = new int[B * S];
        for (int i = 0; i < batch.length; i++) {
            batch[i] = rng.nextInt(V);
        }
        for (int i = 0; i < batch.length; i++) {
            labels[i] = i % S == S - 1 ? CrossEntropyLoss.DEFAULT_IGNORE_INDEX : batch[i + 1];
        }
        CrossEntropyLoss lossFn = new CrossEntropyLoss();
        double first = Double.NaN;
        double last = Double.NaN;
        for (int step = 0; step < 4; step++) {
            loaded.zeroGrad();
            last = lossFn.forward(loaded.forward(batch, B, S), labels, null);
            first = step == 0 ? last : first;
            loaded.backward(lossFn.backward(1f));
            optimizer.step(1e-3f);
        }
        assertTrue(last < first - 0.01, "LoRA steps lower the loss: " + first + " -> " + last);
        assertTrue(lora.trainableParametersLine().startsWith("trainable params: 737,280 "), lora.trainableParametersLine());
    }
}
