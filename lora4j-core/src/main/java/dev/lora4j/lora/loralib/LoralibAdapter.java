package dev.lora4j.lora.loralib;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.io.AtomicFiles;
import dev.lora4j.io.PythonJson;
import dev.lora4j.io.SafeTensors;
import dev.lora4j.lora.LoraConfig.Bias;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An adapter of loralib {@link MergedLinear} layers on disk — what PEFT's format cannot say: LoRA on some output
 * groups of a fused layer (the LoRA paper's q and v of GPT-2's {@code c_attn}). Two files:
 * {@value #CONFIG_FILE} (r, lora_alpha, lora_dropout, enable_lora, target_modules, bias) and
 * {@value #WEIGHTS_FILE} holding loralib's {@code lora_state_dict} under the model's own names
 * ({@code transformer.h.0.attn.c_attn.lora_A}, {@code …lora_B}), the keys microsoft/LoRA's checkpoints use.
 */
public final class LoralibAdapter {
    /** The configuration file. */
    public static final String CONFIG_FILE = "loralib_config.json";
    /** The weights file. */
    public static final String WEIGHTS_FILE = "loralib_model.safetensors";

    private LoralibAdapter() {
    }

    /**
     * How the layers are made.
     *
     * @param r          rank
     * @param alpha      lora_alpha (scaling α/r)
     * @param dropout    dropout on the LoRA path
     * @param enableLora which equal output groups get an update
     * @param targets    layer names or suffixes
     * @param bias       which biases train and are saved
     */
    public record Spec(int r, double alpha, double dropout, boolean[] enableLora, List<String> targets, Bias bias) {
        /** Wraps the targets of {@code model} (see {@link LoraLib#injectMerged}); returns their names. */
        public List<String> inject(Module model, long seed) {
            return LoraLib.injectMerged(model, targets, r, alpha, dropout, enableLora, bias, seed);
        }
    }

    /** True if {@code dir} holds a loralib adapter rather than a PEFT one. */
    public static boolean isIn(Path dir) {
        return Files.isRegularFile(dir.resolve(CONFIG_FILE));
    }

    /** Writes {@code model}'s LoRA state and {@code spec} into {@code dir}, each file atomically. */
    public static void save(Module model, Spec spec, Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("bias", spec.bias().jsonName());
        List<Object> enable = new ArrayList<>();
        for (boolean e : spec.enableLora()) {
            enable.add(e);
        }
        config.put("enable_lora", enable);
        config.put("lora_alpha", spec.alpha());
        config.put("lora_dropout", spec.dropout());
        config.put("r", spec.r());
        config.put("target_modules", spec.targets());
        AtomicFiles.write(dir.resolve(CONFIG_FILE), PythonJson.dumps(config).getBytes(StandardCharsets.UTF_8));
        SafeTensors.write(dir.resolve(WEIGHTS_FILE), LoraLib.loraStateDict(model, spec.bias()), Map.of("format", "pt"));
    }

    /**
     * Reads {@code dir}'s configuration, wraps {@code model}'s targets as it says and loads the weights.
     *
     * @throws IOException naming the file and field or tensor if something is missing or does not fit the model
     */
    public static Spec load(Module model, Path dir) throws IOException {
        Spec spec = readSpec(dir);
        spec.inject(model, 0);
        loadWeights(model, spec, dir.resolve(WEIGHTS_FILE));
        return spec;
    }

    /**
     * Copies the LoRA state in {@code file} into {@code model}, whose layers are already wrapped as {@code spec}.
     *
     * @throws IOException naming the file and tensor if one is missing or mis-shaped
     */
    public static void loadWeights(Module model, Spec spec, Path file) throws IOException {
        SafeTensors.Contents weights = SafeTensors.read(file);
        Map<String, Tensor> state = new LinkedHashMap<>();
        for (String name : LoraLib.loraStateDict(model, spec.bias()).keySet()) {
            if (weights.entry(name) == null) {
                throw new IOException(file + ": missing '" + name + "'");
            }
            state.put(name, weights.tensor(name));
        }
        try {
            LoraLib.loadNonStrict(model, state, file.toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** The configuration in {@code dir}. @throws IOException naming the file and field */
    public static Spec readSpec(Path dir) throws IOException {
        Path file = dir.resolve(CONFIG_FILE);
        JsonNode c = new ObjectMapper().readTree(file.toFile());
        for (String field : List.of("r", "lora_alpha", "enable_lora", "target_modules")) {
            if (!c.has(field)) {
                throw new IOException(file + ": missing field '" + field + "'");
            }
        }
        JsonNode e = c.get("enable_lora");
        if (!e.isArray() || e.isEmpty()) {
            throw new IOException(file + ": enable_lora must be a non-empty list of booleans");
        }
        boolean[] enable = new boolean[e.size()];
        for (int i = 0; i < enable.length; i++) {
            enable[i] = e.get(i).asBoolean();
        }
        List<String> targets = new ArrayList<>();
        c.get("target_modules").forEach(t -> targets.add(t.asText()));
        try {
            return new Spec(c.get("r").asInt(), c.get("lora_alpha").asDouble(), c.path("lora_dropout").asDouble(0),
                    enable, targets, Bias.parse(c.path("bias").asText("none")));
        } catch (IllegalArgumentException ex) {
            throw new IOException(file + ": " + ex.getMessage(), ex);
        }
    }
}
