package dev.lora4j.models.gpt2;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A two-layer GPT-2 against a hand-written PyTorch GPT-2 (scripts/fixtures/make_fixtures.py, gpt2_tiny). */
class Gpt2LmHeadModelTest {
    @TempDir
    Path tmp;

    /** Next-token targets for ids laid out (B, T): the last position of each row has none. */
    static int[] shiftedTargets(int[] ids, int B, int T) {
        int[] targets = new int[B * T];
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                targets[b * T + t] = t + 1 < T ? ids[b * T + t + 1] : CrossEntropyLoss.DEFAULT_IGNORE_INDEX;
            }
        }
        return targets;
    }

    @Test
    void logitsLossAndGradientsMatchTorch() throws Exception {
        Gpt2LmHeadModel model = Gpt2LmHeadModel.load(Fixtures.model("gpt2-tiny"));
        SafeTensors.Contents f = SafeTensors.read(Fixtures.model("gpt2_tiny_batch.safetensors"));
        int[] ids = f.ints("ids");
        int B = 2;
        int T = 7;
        Tensor logits = model.forward(ids, B, T);
        assertClose(f.tensor("logits"), logits, 1e-4f, 1e-4f);

        CrossEntropyLoss lossFn = new CrossEntropyLoss();
        float loss = lossFn.forward(logits, shiftedTargets(ids, B, T), null);
        assertEquals(f.tensor("loss").item(), loss, 1e-5f);
        model.zeroGrad();
        model.backward(lossFn.backward(1f));
        Map<String, Parameter> params = model.namedParameters();
        for (String name : f.names()) {
            if (name.startsWith("grad.")) {
                String param = "transformer." + name.substring("grad.".length());
                assertClose(f.tensor(name), params.get(param).grad(), 2e-5f, 1e-3f);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"transformer.wte.|transformer.wpe.", "transformer.wte.|transformer.wpe.|transformer.h.0.ln_1."})
    void withFrozenEmbeddingsTheTrainableGradientsStillMatchTorch(String frozenPrefixes) throws Exception {
        // Backward then stops below the lowest trainable layer (no input gradient where nothing needs it).
        Gpt2LmHeadModel model = Gpt2LmHeadModel.load(Fixtures.model("gpt2-tiny"));
        SafeTensors.Contents f = SafeTensors.read(Fixtures.model("gpt2_tiny_batch.safetensors"));
        Map<String, Parameter> params = model.namedParameters();
        params.forEach((name, p) -> p.setRequiresGrad(!name.matches("(" + frozenPrefixes.replace(".", "\\.") + ").*")));
        int[] ids = f.ints("ids");
        CrossEntropyLoss lossFn = new CrossEntropyLoss();
        lossFn.forward(model.forward(ids, 2, 7), shiftedTargets(ids, 2, 7), null);
        model.zeroGrad();
        model.backward(lossFn.backward(1f));
        int compared = 0;
        for (String name : f.names()) {
            Parameter p = name.startsWith("grad.") ? params.get("transformer." + name.substring("grad.".length())) : null;
            if (p != null && p.requiresGrad()) {
                assertClose(f.tensor(name), p.grad(), 2e-5f, 1e-3f);
                compared++;
            }
        }
        assertTrue(compared >= 4, "compared " + compared);
    }

    @Test
    void loadsNamesWithTheTransformerPrefix() throws Exception {
        SafeTensors.Contents original = SafeTensors.read(Fixtures.model("gpt2-tiny/model.safetensors"));
        Map<String, Tensor> prefixed = new LinkedHashMap<>();
        original.names().forEach(n -> prefixed.put("transformer." + n, original.tensor(n)));
        SafeTensors.write(tmp.resolve("model.safetensors"), prefixed, null);
        Files.copy(Fixtures.model("gpt2-tiny/config.json"), tmp.resolve("config.json"));
        Gpt2LmHeadModel a = Gpt2LmHeadModel.load(Fixtures.model("gpt2-tiny"));
        Gpt2LmHeadModel b = Gpt2LmHeadModel.load(tmp);
        int[] ids = {1, 5, 9, 2};
        assertClose(a.forward(ids, 1, 4).copy(), b.forward(ids, 1, 4), 0f, 0f);
    }

    @Test
    void namesFollowHuggingFace() throws Exception {
        Gpt2LmHeadModel model = Gpt2LmHeadModel.load(Fixtures.model("gpt2-tiny"));
        assertTrue(model.namedParameters().containsKey("transformer.h.1.attn.c_attn.weight"));
        assertTrue(model.namedModules().containsKey("transformer.h.0.mlp.c_proj"));
        assertEquals(2 * 12 + 4, model.namedParameters().size());
    }

    @Test
    void missingWeightIsNamed() throws Exception {
        SafeTensors.Contents original = SafeTensors.read(Fixtures.model("gpt2-tiny/model.safetensors"));
        Map<String, Tensor> partial = new LinkedHashMap<>();
        original.names().stream().filter(n -> !n.equals("h.1.ln_2.bias")).forEach(n -> partial.put(n, original.tensor(n)));
        SafeTensors.write(tmp.resolve("model.safetensors"), partial, null);
        Files.copy(Fixtures.model("gpt2-tiny/config.json"), tmp.resolve("config.json"));
        IOException e = assertThrows(IOException.class, () -> Gpt2LmHeadModel.load(tmp));
        assertEquals(tmp.resolve("model.safetensors") + ": missing weight 'h.1.ln_2.bias' (also looked for 'transformer.h.1.ln_2.bias')",
                e.getMessage());
    }

    @Test
    void badConfigNamesTheField() throws Exception {
        Files.writeString(tmp.resolve("config.json"), "{\"vocab_size\": 10, \"n_positions\": 8, \"n_embd\": 30, \"n_layer\": 1, \"n_head\": 4}");
        IOException e = assertThrows(IOException.class, () -> Gpt2LmHeadModel.load(tmp));
        assertEquals(tmp.resolve("config.json") + ": config.json: n_embd (30) is not divisible by n_head (4)", e.getMessage());
    }

    @Test
    void pretrainingInitialisationFollowsTransformers() {
        Gpt2Config config = new Gpt2Config(5000, 64, 64, 3, 4, null, "gelu_new", 1e-5f, 0f, 0f, 0.05f);
        Gpt2LmHeadModel m = Gpt2LmHeadModel.initialised(config, 7);
        java.util.Map<String, dev.lora4j.nn.Parameter> p = m.namedParameters();
        // std of N(0, σ) samples: the estimate is within a few percent for these sizes
        assertEquals(0.05, std(p.get("transformer.wte.weight").value().toFloatArray()), 0.05 * 0.02);
        assertEquals(0.05, std(p.get("transformer.h.1.attn.c_attn.weight").value().toFloatArray()), 0.05 * 0.05);
        assertEquals(0.05 / Math.sqrt(6), std(p.get("transformer.h.2.mlp.c_proj.weight").value().toFloatArray()), 0.05 / Math.sqrt(6) * 0.05);
        assertEquals(0.05 / Math.sqrt(6), std(p.get("transformer.h.0.attn.c_proj.weight").value().toFloatArray()), 0.05 / Math.sqrt(6) * 0.05);
        for (float v : p.get("transformer.ln_f.weight").value().toFloatArray()) {
            assertEquals(1f, v);
        }
        for (String zero : List.of("transformer.ln_f.bias", "transformer.h.0.ln_1.bias", "transformer.h.0.mlp.c_fc.bias")) {
            for (float v : p.get(zero).value().toFloatArray()) {
                assertEquals(0f, v, zero);
            }
        }
    }

    private static double std(float[] x) {
        double s = 0;
        double ss = 0;
        for (float v : x) {
            s += v;
            ss += (double) v * v;
        }
        double mean = s / x.length;
        return Math.sqrt(ss / x.length - mean * mean);
    }
}
