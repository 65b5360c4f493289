package dev.lora4j.models.lora;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.PeftAdapter;
import dev.lora4j.models.gpt2.Gpt2LmHeadModel;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An adapter directory in PEFT's layout, written by scripts/fixtures/make_lora_fixtures.py with logits computed
 * by a torch GPT-2 with the adapter applied: lora4j must load it, give the same logits, and write it back
 * byte for byte.
 */
class PeftGpt2AdapterTest {
    @TempDir
    Path tmp;

    @Test
    void peftAdapterLoadsGivesTorchLogitsAndWritesBackIdentically() throws Exception {
        Gpt2LmHeadModel model = Gpt2LmHeadModel.load(Fixtures.path("models/gpt2-tiny"));
        Path adapter = Fixtures.path("lora/peft-gpt2-tiny");
        LoraModel lora = PeftAdapter.load(model, adapter);
        assertEquals(List.of("transformer.h.0.attn.c_attn", "transformer.h.0.mlp.c_proj",
                "transformer.h.1.attn.c_attn", "transformer.h.1.mlp.c_proj"), lora.targets("default"));
        SafeTensors.Contents f = SafeTensors.read(Fixtures.path("lora/peft_gpt2_tiny_logits.safetensors"));
        model.eval();
        assertClose(f.tensor("logits"), model.forward(f.ints("ids"), 2, 6), 1e-4f, 1e-4f);

        PeftAdapter.save(lora, tmp);
        for (String file : List.of(PeftAdapter.CONFIG_FILE, PeftAdapter.WEIGHTS_FILE)) {
            assertArrayEquals(Files.readAllBytes(adapter.resolve(file)), Files.readAllBytes(tmp.resolve(file)), file);
        }

        Tensor adapted = model.forward(f.ints("ids"), 2, 6).copy();
        Module merged = lora.mergeAndUnload(true, null);
        assertClose(adapted, ((Gpt2LmHeadModel) merged).forward(f.ints("ids"), 2, 6), 1e-4f, 1e-4f);
    }

    @Test
    void embeddingAndDoraAdaptersRoundTripThroughPeftFiles() throws Exception {
        for (dev.lora4j.lora.LoraConfig cfg : List.of(
                dev.lora4j.lora.LoraConfig.builder().r(3).targetModules("wte").initLoraWeights(dev.lora4j.lora.LoraConfig.InitLoraWeights.RANDOM).build(),
                dev.lora4j.lora.LoraConfig.builder().r(2).targetModules("c_fc").fanInFanOut(true).useDora(true)
                        .initLoraWeights(dev.lora4j.lora.LoraConfig.InitLoraWeights.RANDOM).build())) {
            Gpt2LmHeadModel model = Gpt2LmHeadModel.load(Fixtures.path("models/gpt2-tiny"));
            LoraModel lora = LoraModel.inject(model, cfg, 11);
            model.eval();
            int[] ids = {3, 14, 15, 9, 26, 5};
            Tensor expected = model.forward(ids, 1, 6).copy();
            Path dir = tmp.resolve("a" + cfg.r());
            PeftAdapter.save(lora, dir);
            List<String> keys = SafeTensors.read(dir.resolve(PeftAdapter.WEIGHTS_FILE)).names();
            assertEquals(true, keys.stream().allMatch(k -> k.startsWith("base_model.model.transformer.")), keys.toString());
            assertEquals(true, keys.stream().anyMatch(k -> k.endsWith(cfg.useDora() ? ".lora_magnitude_vector" : ".lora_embedding_A")), keys.toString());
            Gpt2LmHeadModel fresh = Gpt2LmHeadModel.load(Fixtures.path("models/gpt2-tiny"));
            PeftAdapter.load(fresh, dir);
            fresh.eval();
            assertClose(expected, fresh.forward(ids, 1, 6), 1e-6f, 1e-6f);
        }
    }
}
