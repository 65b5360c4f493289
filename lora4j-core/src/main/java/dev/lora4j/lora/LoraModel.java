package dev.lora4j.lora;

import dev.lora4j.nn.Conv2d;
import dev.lora4j.nn.DenseLayer;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model with LoRA adapters injected, as PEFT's {@code LoraModel}/{@code PeftModel}: adds named adapters by
 * config (target_modules, exclude_modules, layers_to_transform, rank and alpha patterns, modules_to_save),
 * switches, disables and deletes them, merges and unloads, and counts trainable parameters. The module tree
 * itself is the user's model, changed in place: targeted layers are replaced by {@link LoraLayer}s.
 */
public final class LoraModel {
    /** The prefix PEFT puts before module names in adapter files. */
    public static final String PEFT_PREFIX = "base_model.model.";
    private static final List<String> OUTPUT_HEADS = List.of("lm_head", "classifier", "score");

    private final Module model;
    private final Map<String, LoraConfig> configs = new LinkedHashMap<>();
    private String activeAdapter;

    private LoraModel(Module model) {
        this.model = model;
    }

    /** Injects adapter "default" with {@code config} into {@code model}; see {@link #addAdapter}. */
    public static LoraModel inject(Module model, LoraConfig config, long seed) {
        LoraModel m = withoutAdapters(model);
        m.addAdapter(LoraConfig.DEFAULT_ADAPTER, config, seed);
        return m;
    }

    /** A LoRA model with no adapter yet, for a loader that adds one from a file. */
    static LoraModel withoutAdapters(Module model) {
        return new LoraModel(model);
    }

    /**
     * Seed 003's {@code inject_lora(model, filter)}: wraps every Linear or Conv1D whose dotted name passes
     * {@code filter} with adapter "default" of rank r, α and dropout. Returns the LoRA model; its
     * {@link #targets} lists what was replaced.
     */
    public static LoraModel inject(Module model, Predicate<String> filter, int r, double alpha, double dropout, long seed) {
        LoraConfig config = LoraConfig.builder().r(r).loraAlpha(alpha).loraDropout(dropout)
                .targetModules(new TargetModules.Filter(filter)).build();
        return inject(model, config, seed);
    }

    /** The model, with LoRA layers in place of its targets. */
    public Module model() {
        return model;
    }

    /** Configs by adapter name, in the order added. */
    public Map<String, LoraConfig> configs() {
        return java.util.Collections.unmodifiableMap(configs);
    }

    /** The config of adapter {@code name}. @throws IllegalArgumentException if there is none */
    public LoraConfig config(String name) {
        LoraConfig c = configs.get(name);
        if (c == null) {
            throw new IllegalArgumentException("no adapter '" + name + "'; adapters are " + configs.keySet());
        }
        return c;
    }

    /** The active adapter's name. */
    public String activeAdapter() {
        return activeAdapter;
    }

    /**
     * Adds adapter {@code name}: wraps every module the config targets (or adds the adapter to layers already
     * wrapped) and makes it the active, trainable adapter; everything else is frozen except biases by the bias
     * mode and modules_to_save copies. Returns the names of the targeted modules.
     *
     * @throws IllegalArgumentException if nothing matches (listing targets and a sample of module names), or a
     *                                  matched module is of a type LoRA cannot wrap
     */
    public List<String> addAdapter(String name, LoraConfig config, long seed) {
        if (configs.containsKey(name)) {
            throw new IllegalArgumentException("adapter '" + name + "' already exists");
        }
        if (config.targetModules() == null) {
            throw new IllegalArgumentException("target_modules: not set; name the modules to adapt (e.g. q_proj, v_proj, "
                    + "query, value, c_attn) or use all-linear");
        }
        List<String> targets = new ArrayList<>();
        Map<String, Module> modules = model.namedModules();
        for (Map.Entry<String, Module> e : modules.entrySet()) {
            String key = e.getKey();
            if (key.isEmpty() || insideLoraOrWrapper(key, modules) || !isTarget(config, key, e.getValue())) {
                continue;
            }
            targets.add(key);
        }
        if (targets.isEmpty()) {
            List<String> sample = modules.keySet().stream().filter(k -> !k.isEmpty()).limit(12).toList();
            throw new IllegalArgumentException("Target modules " + config.targetModules() + " not found in the base model. "
                    + "Please check the target modules and try again. Some module names: " + sample);
        }
        configs.put(name, config);
        for (String key : targets) {
            Module m = model.namedModules().get(key);
            LoraLayer layer = switch (m) {
                case LoraLayer l -> l;
                case DenseLayer d -> new LoraLinear(d);
                case Embedding emb -> new LoraEmbedding(emb);
                case Conv2d conv -> new LoraConv2d(conv);
                default -> throw new IllegalArgumentException("Target module " + key + " (" + m.typeName()
                        + ") is not supported. Currently, only Linear, Conv1D, Embedding and Conv2d are supported.");
            };
            if (layer.baseLayer() instanceof DenseLayer d && d.fanInFanOut() != config.fanInFanOut()) {
                warn(key + ": fan_in_fan_out is set to " + config.fanInFanOut() + " but the target is a "
                        + d.typeName() + "; using fan_in_fan_out=" + d.fanInFanOut());
            }
            layer.updateLayer(name, config.rankFor(key), config.alphaFor(key), config, seed ^ (key.hashCode() * 0x9E3779B97F4A7C15L));
            if (layer != m) {
                replace(key, layer);
            }
        }
        for (String key : modulesToSave(config)) {
            Module m = model.namedModules().get(key);
            ModulesToSaveWrapper w = m instanceof ModulesToSaveWrapper existing ? existing : new ModulesToSaveWrapper(m);
            w.addAdapter(name);
            if (w != m) {
                replace(key, w);
            }
        }
        setAdapter(name);
        return targets;
    }

    /** The modules_to_save names that exist in the model; SEQ_CLS adds the head ("classifier", "score") as PEFT does. */
    private List<String> modulesToSave(LoraConfig config) {
        List<String> wanted = new ArrayList<>(config.modulesToSave());
        if ("SEQ_CLS".equals(config.taskType())) {
            wanted.add("classifier");
            wanted.add("score");
        }
        List<String> found = new ArrayList<>();
        Map<String, Module> modules = model.namedModules();
        for (String key : modules.keySet()) {
            if (key.isEmpty() || insideLoraOrWrapper(key, modules)) {
                continue;
            }
            for (String w : wanted) {
                if ((key.equals(w) || key.endsWith("." + w)) && !found.contains(key)) {
                    found.add(key);
                }
            }
        }
        for (String w : config.modulesToSave()) {
            if (found.stream().noneMatch(k -> k.equals(w) || k.endsWith("." + w))) {
                throw new IllegalArgumentException("modules_to_save: no module named '" + w + "' in the model");
            }
        }
        return found;
    }

    private static boolean insideLoraOrWrapper(String key, Map<String, Module> modules) {
        int dot = key.lastIndexOf('.');
        while (dot > 0) {
            Module parent = modules.get(key.substring(0, dot));
            if (parent instanceof LoraLayer || parent instanceof ModulesToSaveWrapper) {
                return true;
            }
            dot = key.lastIndexOf('.', dot - 1);
        }
        return false;
    }

    private static boolean isTarget(LoraConfig config, String key, Module m) {
        if (config.excludeModules() != null && config.excludeModules().matches(key)) {
            return false;
        }
        boolean matched;
        if (config.targetModules() instanceof TargetModules.AllLinear) {
            Module inner = m instanceof LoraLayer l ? l.baseLayer() : m;
            String last = key.substring(key.lastIndexOf('.') + 1);
            matched = inner instanceof DenseLayer && !OUTPUT_HEADS.contains(last);
        } else {
            matched = config.targetModules().matches(key);
        }
        return matched && inLayersToTransform(config, key);
    }

    // PEFT: with layers_to_transform, the name must contain ".<pattern>.<index>." with a listed index.
    private static boolean inLayersToTransform(LoraConfig config, String key) {
        if (config.layersToTransform().isEmpty()) {
            return true;
        }
        List<String> patterns = config.layersPattern().isEmpty() ? LoraConfig.COMMON_LAYERS_PATTERN : config.layersPattern();
        for (String p : patterns) {
            Matcher m = Pattern.compile("(?:^|.*\\.)" + Pattern.quote(p) + "\\.(\\d+)\\.").matcher(key);
            if (m.lookingAt()) {
                return config.layersToTransform().contains(Integer.parseInt(m.group(1)));
            }
        }
        return false;
    }

    private void replace(String key, Module replacement) {
        model.replaceModule(key, replacement);
    }

    private static void warn(String message) {
        System.err.println("warning: " + message);
    }

    /** Every LoRA layer in the model by name. */
    public Map<String, LoraLayer> loraLayers() {
        Map<String, LoraLayer> out = new LinkedHashMap<>();
        model.namedModules().forEach((k, m) -> {
            if (m instanceof LoraLayer l) {
                out.put(k, l);
            }
        });
        return out;
    }

    /** The modules adapter {@code name} wraps. */
    public List<String> targets(String name) {
        config(name);
        List<String> out = new ArrayList<>();
        loraLayers().forEach((k, l) -> {
            if (l.adapters().containsKey(name)) {
                out.add(k);
            }
        });
        return out;
    }

    private Map<String, ModulesToSaveWrapper> wrappers() {
        Map<String, ModulesToSaveWrapper> out = new LinkedHashMap<>();
        model.namedModules().forEach((k, m) -> {
            if (m instanceof ModulesToSaveWrapper w) {
                out.put(k, w);
            }
        });
        return out;
    }

    /**
     * Makes {@code name} the active adapter: only its parameters (and its modules_to_save copies, and biases by
     * its bias mode) are trainable.
     */
    public void setAdapter(String name) {
        setAdapters(List.of(name));
    }

    /**
     * Makes several adapters active at once: each LoRA layer adds the updates of all of them (PEFT's
     * base_model.set_adapter with a list). The first one's modules_to_save copies and bias mode apply.
     */
    public void setAdapters(List<String> names) {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("set_adapter: name at least one adapter");
        }
        names.forEach(this::config);
        String name = names.get(0);
        LoraConfig config = config(name);
        activeAdapter = name;
        model.requiresGrad(false);
        loraLayers().values().forEach(l -> l.setActiveAdapters(names));
        wrappers().values().forEach(w -> w.setAdapter(name));
        if (config.bias() == LoraConfig.Bias.ALL) {
            model.namedParameters().forEach((k, p) -> {
                if (k.endsWith(".bias") || k.equals("bias")) {
                    p.setRequiresGrad(true);
                }
            });
        } else if (config.bias() == LoraConfig.Bias.LORA_ONLY) {
            loraLayers().values().forEach(l -> {
                Parameter b = l.baseLayer().ownParameters().get("bias");
                if (b != null) {
                    b.setRequiresGrad(true);
                }
            });
        }
    }

    /** Switches every adapter off (the base model answers) or back on, as PEFT's disable_adapter context. */
    public void enableAdapters(boolean enabled) {
        loraLayers().values().forEach(l -> l.enableAdapters(enabled));
        wrappers().values().forEach(w -> w.enableAdapters(enabled));
    }

    /** Disables adapters until the returned handle is closed: {@code try (var off = lora.disableAdapter()) {…}}. */
    public AutoCloseable disableAdapter() {
        enableAdapters(false);
        return () -> enableAdapters(true);
    }

    /** Deletes adapter {@code name} everywhere; the first remaining adapter becomes active. */
    public void deleteAdapter(String name) {
        config(name);
        loraLayers().values().forEach(l -> {
            if (l.adapters().containsKey(name)) {
                l.deleteAdapter(name);
            }
        });
        wrappers().values().forEach(w -> w.deleteAdapter(name));
        configs.remove(name);
        if (name.equals(activeAdapter)) {
            activeAdapter = null;
            if (!configs.isEmpty()) {
                setAdapter(configs.keySet().iterator().next());
            }
        }
    }

    /** Merges the named adapters (the active one if none) into the base weights; see {@link LoraLayer#merge}. */
    public void merge(boolean safe, List<String> names) {
        loraLayers().values().forEach(l -> l.merge(safe, names == null || names.isEmpty() ? List.of(activeAdapter) : names));
    }

    /** Undoes all merges. */
    public void unmerge() {
        loraLayers().values().forEach(l -> {
            if (l.isMerged()) {
                l.unmerge();
            }
        });
    }

    /**
     * Merges the active adapter (or {@code names}) into the base weights and puts the base layers back in the
     * tree, and each modules_to_save copy in its original's place: the result is a plain model again, with the
     * model's own parameter names.
     */
    public Module mergeAndUnload(boolean safe, List<String> names) {
        merge(safe, names);
        return unload();
    }

    /** Puts the base layers back without merging (the adapters are dropped). */
    public Module unload() {
        loraLayers().forEach((k, l) -> replace(k, l.baseLayer()));
        wrappers().forEach((k, w) -> replace(k, w.current()));
        configs.clear();
        activeAdapter = null;
        return model;
    }

    /** PEFT's print_trainable_parameters line: {@code trainable params: N || all params: M || trainable%: P}. */
    public String trainableParametersLine() {
        return trainableParametersLine(model);
    }

    /** PEFT's line for any model: parameters with requiresGrad against all of them. */
    public static String trainableParametersLine(Module model) {
        long trainable = 0, all = 0;
        for (Parameter p : model.namedParameters().values()) {
            all += p.numel();
            trainable += p.requiresGrad() ? p.numel() : 0;
        }
        return String.format(Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                trainable, all, 100.0 * trainable / all);
    }
}
