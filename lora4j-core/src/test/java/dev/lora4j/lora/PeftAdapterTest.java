package dev.lora4j.lora;

import dev.lora4j.io.PythonJson;
import dev.lora4j.io.SafeTensors;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.GradCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PeftAdapterTest {
    @TempDir
    Path dir;

    private static LoraModel trained(ToyModel model, LoraConfig config) {
        LoraModel m = LoraModel.inject(model, config, 5);
        // stand-in for training: every trainable value moves
        java.util.Random rng = new java.util.Random(3);
        model.trainableParameters().forEach(p -> {
            float[] d = p.value().data();
            for (int i = 0; i < d.length; i++) {
                d[i] += (float) rng.nextGaussian() * 0.1f;
            }
        });
        return m;
    }

    @Test
    void savedKeysFollowPeftNaming() throws IOException {
        LoraConfig cfg = LoraConfig.builder().r(2).targetModules("to_q").useDora(true).modulesToSave("classifier").build();
        PeftAdapter.save(trained(new ToyModel(1), cfg), dir);
        SafeTensors.Contents c = SafeTensors.read(dir.resolve("adapter_model.safetensors"));
        assertEquals(List.of("base_model.model.classifier.bias", "base_model.model.classifier.weight",
                "base_model.model.layers.0.to_q.lora_A.weight", "base_model.model.layers.0.to_q.lora_B.weight",
                "base_model.model.layers.0.to_q.lora_magnitude_vector",
                "base_model.model.layers.1.to_q.lora_A.weight", "base_model.model.layers.1.to_q.lora_B.weight",
                "base_model.model.layers.1.to_q.lora_magnitude_vector"), c.names().stream().sorted().toList());
        assertEquals("pt", c.metadata().get("format"));
    }

    @Test
    void roundTripGivesTheSameOutputsForLoraDoraAndEdora() throws IOException {
        for (LoraConfig cfg : List.of(
                LoraConfig.builder().r(2).loraAlpha(4).targetModules("to_q", "to_v").modulesToSave("classifier").bias(LoraConfig.Bias.ALL).build(),
                LoraConfig.builder().r(3).targetModules("all-linear").useDora(true).build(),
                LoraConfig.builder().r(2).targetModules("to_k").edora(new LoraConfig.EdoraConfig(3, 7, 0.01)).build())) {
            ToyModel model = new ToyModel(1);
            LoraModel saved = trained(model, cfg);
            Tensor x = GradCheck.random(2, 3, 6);
            Tensor expected = model.forward(x).copy();
            Path out = dir.resolve("a" + cfg.r() + cfg.useDora());
            PeftAdapter.save(saved, out);
            ToyModel fresh = new ToyModel(1);
            PeftAdapter.load(fresh, out);
            assertClose(expected, fresh.forward(x), 1e-6f, 1e-6f);
            assertEquals(PeftAdapter.configJson(cfg), Files.readString(out.resolve("adapter_config.json")));
        }
    }

    @Test
    void configRoundTripKeepsUnknownFields() throws IOException {
        LoraConfig cfg = LoraConfig.builder().r(16).loraAlpha(32).loraDropout(0.05).targetRegex(".*(q|v)_proj")
                .rankPattern(Map.of("q_proj", 4)).alphaPattern(Map.of("q_proj", 2.5)).taskType("CAUSAL_LM")
                .extra(Map.of("future_field", List.of(1, 2))).build();
        Path file = dir.resolve("adapter_config.json");
        Files.writeString(file, PeftAdapter.configJson(cfg));
        LoraConfig back = PeftAdapter.readConfig(file);
        assertEquals(PeftAdapter.configJson(cfg), PeftAdapter.configJson(back));
        assertEquals(List.of(1, 2), back.extra().get("future_field"));
        assertTrue(Files.readString(file).contains("\"lora_dropout\": 0.05,\n"));
    }

    @Test
    void badConfigsNameFileAndField() throws IOException {
        Path file = dir.resolve("adapter_config.json");
        Map<String, String> cases = new TreeMap<>(Map.of(
                "{\"r\": 0, \"target_modules\": [\"q\"]}", "r: `r` should be a positive integer value but the value passed is 0",
                "{\"r\": 4, \"lora_alpha\": -1}", "lora_alpha: expected a positive number, got -1.0",
                "{\"lora_dropout\": 1.0}", "lora_dropout: expected a value in [0, 1), got 1.0",
                "{\"bias\": \"some\"}", "bias: expected none, all or lora_only, got 'some'",
                "{\"peft_type\": \"IA3\"}", "peft_type: expected \"LORA\", got \"IA3\"",
                "{\"r\": \"eight\"}", "r: expected an integer, got \"eight\"",
                "[1, 2]", "expected a JSON object"));
        for (Map.Entry<String, String> c : cases.entrySet()) {
            Files.writeString(file, c.getKey());
            IOException e = assertThrows(IOException.class, () -> PeftAdapter.readConfig(file));
            assertEquals(file + ": " + c.getValue(), e.getMessage());
        }
        Files.writeString(file, "{not json");
        assertTrue(assertThrows(IOException.class, () -> PeftAdapter.readConfig(file)).getMessage().startsWith(file + ": not valid JSON"));
    }

    @Test
    void weightsThatDoNotFitAreErrorsNamingTheKey() throws IOException {
        LoraConfig cfg = LoraConfig.builder().r(2).targetModules("to_q").build();
        PeftAdapter.save(LoraModel.inject(new ToyModel(1), cfg, 1), dir);
        Path weights = dir.resolve("adapter_model.safetensors");
        Map<String, Tensor> good = new TreeMap<>();
        SafeTensors.Contents c = SafeTensors.read(weights);
        c.names().forEach(n -> good.put(n, c.tensor(n)));

        Map<String, Tensor> extra = new TreeMap<>(good);
        extra.put("base_model.model.layers.0.to_z.lora_A.weight", Tensor.zeros(2, 6));
        SafeTensors.write(weights, extra, Map.of());
        IOException e = assertThrows(IOException.class, () -> PeftAdapter.load(new ToyModel(1), dir));
        assertEquals(weights + ": tensor 'base_model.model.layers.0.to_z.lora_A.weight' matches no module of the model", e.getMessage());

        Map<String, Tensor> missing = new TreeMap<>(good);
        missing.remove("base_model.model.layers.1.to_q.lora_B.weight");
        SafeTensors.write(weights, missing, Map.of());
        e = assertThrows(IOException.class, () -> PeftAdapter.load(new ToyModel(1), dir));
        assertEquals(weights + ": missing tensor 'base_model.model.layers.1.to_q.lora_B.weight'", e.getMessage());

        Map<String, Tensor> misShaped = new TreeMap<>(good);
        misShaped.put("base_model.model.layers.1.to_q.lora_B.weight", Tensor.zeros(6, 3));
        SafeTensors.write(weights, misShaped, Map.of());
        e = assertThrows(IOException.class, () -> PeftAdapter.load(new ToyModel(1), dir));
        assertEquals(weights + ": tensor 'base_model.model.layers.1.to_q.lora_B.weight' has shape (6, 3), the model expects (6, 2)", e.getMessage());
    }

    @Test
    void nonDefaultAdaptersLiveInASubdirectory() throws IOException {
        ToyModel model = new ToyModel(1);
        LoraModel m = LoraModel.inject(model, LoraConfig.builder().r(2).targetModules("to_q").build(), 1);
        m.addAdapter("sst2", LoraConfig.builder().r(3).targetModules("to_v").build(), 2);
        PeftAdapter.save(m, dir);
        assertTrue(Files.exists(dir.resolve("adapter_config.json")));
        assertTrue(Files.exists(dir.resolve("sst2").resolve("adapter_model.safetensors")));
        LoraModel back = PeftAdapter.load(new ToyModel(1), dir);
        PeftAdapter.loadInto(back, dir.resolve("sst2"), "sst2");
        assertEquals(List.of("layers.0.to_v", "layers.1.to_v"), back.targets("sst2"));
    }

    @Test
    void pythonJsonFloatsAreReprs() {
        assertEquals("1e-05", PythonJson.floatRepr(1e-5));
        assertEquals("0.0001", PythonJson.floatRepr(1e-4));
        assertEquals("8.0", PythonJson.floatRepr(8));
        assertEquals("0.1", PythonJson.floatRepr(0.1));
        assertEquals("1e+16", PythonJson.floatRepr(1e16));
        assertEquals("-2.5e-07", PythonJson.floatRepr(-2.5e-7));
        assertEquals("{\n  \"a\": [],\n  \"b\": {\n    \"c\": null\n  },\n  \"\\u00e9\": 1\n}",
                PythonJson.dumps(new TreeMap<>(Map.of("b", new TreeMap<>(java.util.Collections.singletonMap("c", null)), "a", List.of(), "é", 1))));
    }
}
