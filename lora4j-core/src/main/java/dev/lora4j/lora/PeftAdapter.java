package dev.lora4j.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.io.AtomicFiles;
import dev.lora4j.io.PythonJson;
import dev.lora4j.io.SafeTensors;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Tensor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEFT's adapter directory, read and written as PEFT does: {@code adapter_config.json} (every LoraConfig field,
 * sorted, two-space indent, {@code peft_type: "LORA"}) and {@code adapter_model.safetensors} whose keys are
 * {@code base_model.model.<module>.lora_A.weight}, {@code .lora_B.weight}, {@code .lora_embedding_A},
 * {@code .lora_embedding_B}, {@code .lora_magnitude_vector} (DoRA), and the modules_to_save copies under the
 * module's own name ({@code base_model.model.classifier.weight}); the adapter name is stripped. The "default"
 * adapter lives in the directory itself, others in a sub-directory of their name (PEFT's save_pretrained).
 *
 * <p>EDoRA is not a PEFT type: its frozen A and B are saved as lora_A/lora_B, its r×r matrix as
 * {@code .lora_latent_mapping.weight}, and the config gains {@code use_edora}, {@code edora_n_iter},
 * {@code edora_seed}, {@code edora_sigma} (fields PEFT ignores).
 */
public final class PeftAdapter {
    /** The config file's name. */
    public static final String CONFIG_FILE = "adapter_config.json";
    /** The weights file's name. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> KNOWN = Set.of("r", "lora_alpha", "lora_dropout", "target_modules",
            "exclude_modules", "bias", "fan_in_fan_out", "modules_to_save", "init_lora_weights", "use_rslora",
            "use_dora", "layers_to_transform", "layers_pattern", "rank_pattern", "alpha_pattern",
            "base_model_name_or_path", "task_type", "inference_mode", "peft_type", "use_edora", "edora_n_iter",
            "edora_seed", "edora_sigma");
    private static final Pattern LORA_WEIGHT = Pattern.compile("(.*)\\.(lora_A|lora_B|lora_latent_mapping)\\.([^.]+)\\.weight");
    private static final Pattern LORA_EMBEDDING = Pattern.compile("(.*)\\.(lora_embedding_A|lora_embedding_B)\\.([^.]+)");
    private static final Pattern DORA = Pattern.compile("(.*)\\.lora_magnitude_vector\\.([^.]+)\\.weight");
    private static final Pattern SAVED_COPY = Pattern.compile("(.*)\\.modules_to_save\\.([^.]+)\\.(.*)");

    private PeftAdapter() {
    }

    /** The directory holding adapter {@code name} under {@code root}. */
    public static Path adapterDir(Path root, String name) {
        return name.equals(LoraConfig.DEFAULT_ADAPTER) ? root : root.resolve(name);
    }

    /** Writes every adapter of {@code model} under {@code root}, each file atomically. */
    public static void save(LoraModel model, Path root) throws IOException {
        for (String name : model.configs().keySet()) {
            save(model, name, adapterDir(root, name));
        }
    }

    /** Writes adapter {@code name} into {@code dir}: config and weights, each atomically. */
    public static void save(LoraModel model, String name, Path dir) throws IOException {
        Files.createDirectories(dir);
        AtomicFiles.write(dir.resolve(CONFIG_FILE), configJson(model.config(name)).getBytes(StandardCharsets.UTF_8));
        SafeTensors.write(dir.resolve(WEIGHTS_FILE), stateDict(model, name), Map.of("format", "pt"));
    }

    /** Adapter {@code name}'s tensors under PEFT's key names (live tensors, not copies). */
    public static Map<String, Tensor> stateDict(LoraModel model, String name) {
        Map<String, Tensor> out = new TreeMap<>();
        keyMap(model, name).forEach((k, p) -> out.put(k, p.value()));
        return out;
    }

    // PEFT key -> parameter, for every tensor adapter `name` saves.
    private static Map<String, Parameter> keyMap(LoraModel model, String name) {
        LoraConfig config = model.config(name);
        Map<String, Parameter> out = new LinkedHashMap<>();
        Map<String, LoraLayer> layers = model.loraLayers();
        model.model().namedParameters().forEach((param, p) -> {
            String key = peftKey(param, name);
            if (key == null && isBias(param) && !param.contains(".modules_to_save.") && !param.contains(".original_module.")
                    && !param.contains("lora_")) {
                boolean ofLoraLayer = param.endsWith(".base_layer.bias")
                        && layers.containsKey(param.substring(0, param.length() - ".base_layer.bias".length()));
                if (config.bias() == LoraConfig.Bias.ALL || (config.bias() == LoraConfig.Bias.LORA_ONLY && ofLoraLayer)) {
                    key = param;
                }
            }
            if (key != null) {
                out.put(LoraModel.PEFT_PREFIX + key, p);
            }
        });
        return out;
    }

    private static boolean isBias(String param) {
        return param.equals("bias") || param.endsWith(".bias");
    }

    // The PEFT key of a model parameter belonging to adapter `name`, or null.
    private static String peftKey(String param, String name) {
        Matcher m = LORA_WEIGHT.matcher(param);
        if (m.matches()) {
            return m.group(3).equals(name) ? m.group(1) + "." + m.group(2) + ".weight" : null;
        }
        m = LORA_EMBEDDING.matcher(param);
        if (m.matches()) {
            return m.group(3).equals(name) ? m.group(1) + "." + m.group(2) : null;
        }
        m = DORA.matcher(param);
        if (m.matches()) {
            return m.group(2).equals(name) ? m.group(1) + ".lora_magnitude_vector" : null;
        }
        m = SAVED_COPY.matcher(param);
        if (m.matches()) {
            return m.group(2).equals(name) ? m.group(1) + "." + m.group(3) : null;
        }
        return null;
    }

    /**
     * Reads the adapter in {@code dir} and injects it into {@code model} as adapter "default"; returns the
     * LoRA model. Every tensor of the file must find its place and every adapter tensor must be in the file.
     *
     * @throws IOException if a file is missing or unreadable, or the config or a tensor is wrong (the message names
     *                     the file and the field or key)
     */
    public static LoraModel load(Module model, Path dir) throws IOException {
        LoraModel lora = LoraModel.withoutAdapters(model);
        loadInto(lora, dir, LoraConfig.DEFAULT_ADAPTER);
        return lora;
    }

    /** Adds the adapter in {@code dir} to an existing LoRA model under {@code name} and makes it active. */
    public static void loadInto(LoraModel lora, Path dir, String name) throws IOException {
        LoraConfig config = readConfig(dir.resolve(CONFIG_FILE));
        try {
            lora.addAdapter(name, config, 0);
        } catch (IllegalArgumentException e) {
            throw new IOException(dir.resolve(CONFIG_FILE) + ": " + e.getMessage(), e);
        }
        loadWeights(lora, name, dir.resolve(WEIGHTS_FILE));
    }

    /**
     * Copies adapter {@code name}'s tensors from a PEFT weights file into a model that already has the adapter.
     *
     * @throws IOException naming the file and key for an unknown, missing or mis-shaped tensor
     */
    public static void loadWeights(LoraModel lora, String name, Path file) throws IOException {
        SafeTensors.Contents contents;
        try {
            contents = SafeTensors.read(file);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": adapter weights not found", e);
        }
        Map<String, Parameter> expected = keyMap(lora, name);
        List<String> unknown = new ArrayList<>();
        for (String key : contents.names()) {
            if (!expected.containsKey(key)) {
                unknown.add(key);
            }
        }
        if (!unknown.isEmpty()) {
            throw new IOException(file + ": tensor '" + unknown.get(0) + "' matches no module of the model"
                    + (unknown.size() > 1 ? " (and " + (unknown.size() - 1) + " more)" : ""));
        }
        for (Map.Entry<String, Parameter> e : expected.entrySet()) {
            if (!contents.names().contains(e.getKey())) {
                if (e.getKey().endsWith(".bias")) {
                    continue;     // a bias is only saved with bias="all"/"lora_only"; keep the model's own
                }
                throw new IOException(file + ": missing tensor '" + e.getKey() + "'");
            }
            Tensor t = contents.tensor(e.getKey());
            Parameter p = e.getValue();
            if (!t.shape().equals(p.value().shape())) {
                throw new IOException(file + ": tensor '" + e.getKey() + "' has shape " + t.shape() + ", the model expects "
                        + p.value().shape());
            }
            p.value().copyFrom(t);
        }
    }

    // ---- adapter_config.json --------------------------------------------------------------------------------

    /** The adapter_config.json text PEFT would write for {@code c}. */
    public static String configJson(LoraConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("auto_mapping", null);
        m.put("base_model_name_or_path", c.baseModelNameOrPath());
        m.put("bias", c.bias().jsonName());
        m.put("eva_config", null);
        m.put("exclude_modules", c.excludeModules() == null ? null : c.excludeModules().toJsonValue());
        m.put("fan_in_fan_out", c.fanInFanOut());
        m.put("inference_mode", c.inferenceMode());
        m.put("init_lora_weights", c.initLoraWeights().jsonValue());
        m.put("layer_replication", null);
        m.put("layers_pattern", c.layersPattern().isEmpty() ? null : c.layersPattern());
        m.put("layers_to_transform", c.layersToTransform().isEmpty() ? null : c.layersToTransform());
        m.put("loftq_config", Map.of());
        m.put("lora_alpha", number(c.loraAlpha()));
        m.put("lora_bias", false);
        m.put("lora_dropout", c.loraDropout());
        m.put("megatron_config", null);
        m.put("megatron_core", "megatron.core");
        m.put("modules_to_save", c.modulesToSave().isEmpty() ? null : c.modulesToSave());
        m.put("peft_type", "LORA");
        m.put("r", c.r());
        Map<String, Object> alpha = new LinkedHashMap<>();
        c.alphaPattern().forEach((k, v) -> alpha.put(k, number(v)));
        m.put("alpha_pattern", alpha);
        m.put("rank_pattern", c.rankPattern());
        m.put("revision", null);
        m.put("target_modules", c.targetModules() == null ? null : c.targetModules().toJsonValue());
        m.put("task_type", c.taskType());
        m.put("use_dora", c.useDora());
        m.put("use_rslora", c.useRslora());
        if (c.useEdora()) {
            m.put("use_edora", true);
            m.put("edora_n_iter", c.edora().nIter());
            m.put("edora_seed", c.edora().seed());
            m.put("edora_sigma", c.edora().sigma());
        }
        m.putAll(c.extra());
        return PythonJson.dumps(m);
    }

    private static Object number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? (Object) (long) v : (Object) v;
    }

    /**
     * Reads adapter_config.json. Fields lora4j does not use are kept in {@link LoraConfig#extra()}.
     *
     * @throws IOException naming the file and field when the file is missing, not JSON, not a LoRA adapter, or a
     *                     field has a wrong type or value
     */
    public static LoraConfig readConfig(Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (java.io.FileNotFoundException | NoSuchFileException e) {
            throw new IOException(file + ": not found (an adapter directory holds " + CONFIG_FILE + " and " + WEIGHTS_FILE + ")", e);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException(file + ": expected a JSON object");
        }
        try {
            return parseConfig(root);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private static LoraConfig parseConfig(JsonNode root) {
        String peftType = text(root, "peft_type", "LORA");
        if (!peftType.equals("LORA")) {
            throw new IllegalArgumentException("peft_type: expected \"LORA\", got \"" + peftType + "\"");
        }
        LoraConfig.Builder b = LoraConfig.builder()
                .r(integer(root, "r", 8))
                .loraAlpha(real(root, "lora_alpha", 8))
                .loraDropout(real(root, "lora_dropout", 0))
                .bias(LoraConfig.Bias.parse(text(root, "bias", "none")))
                .fanInFanOut(bool(root, "fan_in_fan_out", false))
                .useRslora(bool(root, "use_rslora", false))
                .useDora(bool(root, "use_dora", false))
                .baseModelNameOrPath(text(root, "base_model_name_or_path", null))
                .taskType(text(root, "task_type", null))
                .inferenceMode(bool(root, "inference_mode", false))
                .modulesToSave(strings(root, "modules_to_save"))
                .layersPattern(root.path("layers_pattern").isTextual() ? List.of(root.get("layers_pattern").asText()) : strings(root, "layers_pattern"))
                .layersToTransform(root.path("layers_to_transform").isInt() ? List.of(root.get("layers_to_transform").asInt()) : ints(root, "layers_to_transform"));
        if (root.has("init_lora_weights") && !root.get("init_lora_weights").isNull()) {
            JsonNode n = root.get("init_lora_weights");
            b.initLoraWeights(LoraConfig.InitLoraWeights.parse(n.isBoolean() ? n.asBoolean() : n.asText()));
        }
        b.targetModules(targets(root, "target_modules"));
        b.excludeModules(targets(root, "exclude_modules"));
        Map<String, Integer> ranks = new LinkedHashMap<>();
        root.path("rank_pattern").properties().forEach(e -> ranks.put(e.getKey(), requireInt("rank_pattern." + e.getKey(), e.getValue())));
        b.rankPattern(ranks);
        Map<String, Double> alphas = new LinkedHashMap<>();
        root.path("alpha_pattern").properties().forEach(e -> alphas.put(e.getKey(), requireNumber("alpha_pattern." + e.getKey(), e.getValue())));
        b.alphaPattern(alphas);
        if (bool(root, "use_edora", false)) {
            b.edora(new LoraConfig.EdoraConfig(integer(root, "edora_n_iter", 10), integer(root, "edora_seed", 42),
                    real(root, "edora_sigma", 1e-5)));
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!KNOWN.contains(e.getKey()) && !(e.getValue().isNull() || isDefaultExtra(e.getKey(), e.getValue()))) {
                extra.put(e.getKey(), JSON.convertValue(e.getValue(), Object.class));
            }
        }
        b.extra(extra);
        return b.build();
    }

    // Fields PEFT always writes with these values; configJson writes them itself.
    private static boolean isDefaultExtra(String key, JsonNode v) {
        return switch (key) {
            case "loftq_config" -> v.isObject() && v.isEmpty();
            case "megatron_core" -> v.asText().equals("megatron.core");
            case "lora_bias" -> v.isBoolean() && !v.asBoolean();
            default -> false;
        };
    }

    private static TargetModules targets(JsonNode root, String field) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isTextual()) {
            return TargetModules.ofString(n.asText());
        }
        if (n.isArray()) {
            return TargetModules.ofList(strings(root, field));
        }
        throw new IllegalArgumentException(field + ": expected a list of module names or a regular expression, got " + n);
    }

    private static String text(JsonNode root, String field, String dflt) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isTextual()) {
            throw new IllegalArgumentException(field + ": expected a string, got " + n);
        }
        return n.asText();
    }

    private static boolean bool(JsonNode root, String field, boolean dflt) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException(field + ": expected true or false, got " + n);
        }
        return n.asBoolean();
    }

    private static int integer(JsonNode root, String field, int dflt) {
        JsonNode n = root.get(field);
        return n == null || n.isNull() ? dflt : requireInt(field, n);
    }

    private static int requireInt(String field, JsonNode n) {
        if (!n.isIntegralNumber()) {
            throw new IllegalArgumentException(field + ": expected an integer, got " + n);
        }
        return n.asInt();
    }

    private static double real(JsonNode root, String field, double dflt) {
        JsonNode n = root.get(field);
        return n == null || n.isNull() ? dflt : requireNumber(field, n);
    }

    private static double requireNumber(String field, JsonNode n) {
        if (!n.isNumber()) {
            throw new IllegalArgumentException(field + ": expected a number, got " + n);
        }
        return n.asDouble();
    }

    private static List<String> strings(JsonNode root, String field) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            return List.of();
        }
        if (!n.isArray()) {
            throw new IllegalArgumentException(field + ": expected a list of strings, got " + n);
        }
        List<String> out = new ArrayList<>();
        n.forEach(e -> {
            if (!e.isTextual()) {
                throw new IllegalArgumentException(field + ": expected a list of strings, got " + n);
            }
            out.add(e.asText());
        });
        return out;
    }

    private static List<Integer> ints(JsonNode root, String field) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            return List.of();
        }
        if (!n.isArray()) {
            throw new IllegalArgumentException(field + ": expected a list of integers, got " + n);
        }
        List<Integer> out = new ArrayList<>();
        n.forEach(e -> out.add(requireInt(field, e)));
        return out;
    }
}
