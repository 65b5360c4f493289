package dev.lora4j.lora;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * An adapter's settings with the fields and defaults of PEFT's {@code LoraConfig}: r = 8, lora_alpha = 8,
 * lora_dropout = 0, bias "none", init_lora_weights true. Build one with {@link #builder()}; every value is checked
 * when built, and a bad one names the field.
 *
 * @param r                   rank of the update
 * @param loraAlpha           α; the update is scaled by α/r (α/√r with rslora)
 * @param loraDropout         dropout on the adapter's input, in [0, 1)
 * @param targetModules       which modules to wrap; null asks the model for its default
 * @param excludeModules      modules never wrapped, same forms as targetModules; may be null
 * @param bias                which biases train
 * @param fanInFanOut         the targets store their weight (in, out), as GPT-2's Conv1D
 * @param modulesToSave       modules trained in full and saved with the adapter (e.g. "classifier"); may be empty
 * @param initLoraWeights     how A and B start
 * @param useRslora           scale by α/√r instead of α/r
 * @param useDora             decompose into magnitude and direction (DoRA)
 * @param edora               EDoRA settings, or null for plain LoRA/DoRA
 * @param layersToTransform   only these layer indices (empty: all)
 * @param layersPattern       the name of the layer list ("h", "layer", …); empty: the usual names
 * @param rankPattern         per-module rank overrides, keyed by a regular expression on the name's end
 * @param alphaPattern        per-module α overrides, same keys
 * @param baseModelNameOrPath where the base model came from, recorded in adapter_config.json
 * @param taskType            PEFT's task type ("CAUSAL_LM", "SEQ_CLS", …), or null
 * @param inferenceMode       whether the adapter was saved for inference only
 * @param extra               fields of adapter_config.json that lora4j does not use, kept so a round trip loses nothing
 */
public record LoraConfig(int r, double loraAlpha, double loraDropout, TargetModules targetModules,
                         TargetModules excludeModules, Bias bias, boolean fanInFanOut, List<String> modulesToSave,
                         InitLoraWeights initLoraWeights, boolean useRslora, boolean useDora, EdoraConfig edora,
                         List<Integer> layersToTransform, List<String> layersPattern, Map<String, Integer> rankPattern,
                         Map<String, Double> alphaPattern, String baseModelNameOrPath, String taskType,
                         boolean inferenceMode, Map<String, Object> extra) implements java.io.Serializable {

    /** The adapter name PEFT uses when none is given. */
    public static final String DEFAULT_ADAPTER = "default";

    /** Layer-list names tried when layers_to_transform is set without layers_pattern (as PEFT's COMMON_LAYERS_PATTERN). */
    public static final List<String> COMMON_LAYERS_PATTERN = List.of("layers", "h", "block", "blocks", "layer");

    /** Which biases train: PEFT's and loralib's {@code bias} modes. */
    public enum Bias {
        /** No bias trains. */
        NONE,
        /** Every bias in the model trains. */
        ALL,
        /** Only the biases of the layers LoRA wraps train. */
        LORA_ONLY;

        /** The config-file spelling. */
        public String jsonName() {
            return name().toLowerCase();
        }

        /** Parses "none", "all" or "lora_only". @throws IllegalArgumentException naming the field otherwise */
        public static Bias parse(String s) {
            return switch (s) {
                case "none" -> NONE;
                case "all" -> ALL;
                case "lora_only" -> LORA_ONLY;
                default -> throw new IllegalArgumentException("bias: expected none, all or lora_only, got '" + s + "'");
            };
        }
    }

    /** PEFT's {@code init_lora_weights}. */
    public enum InitLoraWeights {
        /** true: A kaiming-uniform(a=√5), B zero, so training starts at the base model. */
        KAIMING,
        /** "gaussian": A ~ N(0, (1/r)²) as PEFT, B zero. */
        GAUSSIAN,
        /** false: A and B both random, so the adapter is not a no-op (for tests). */
        RANDOM;

        /** The config-file value: true, "gaussian" or false. */
        public Object jsonValue() {
            return switch (this) {
                case KAIMING -> Boolean.TRUE;
                case GAUSSIAN -> "gaussian";
                case RANDOM -> Boolean.FALSE;
            };
        }

        /** Parses true/false/"gaussian" (also as strings). @throws IllegalArgumentException otherwise */
        public static InitLoraWeights parse(Object value) {
            String s = String.valueOf(value).toLowerCase();
            return switch (s) {
                case "true", "kaiming" -> KAIMING;
                case "gaussian" -> GAUSSIAN;
                case "false", "random" -> RANDOM;
                default -> throw new IllegalArgumentException("init_lora_weights: expected true, false or \"gaussian\", got "
                        + value + (s.equals("pissa") || s.equals("olora") || s.equals("loftq") || s.equals("eva")
                        ? " (that initialisation is not supported by lora4j)" : ""));
            };
        }
    }

    /**
     * EDoRA: A and B from a truncated randomized SVD of W0, frozen, with a trainable r×r matrix between them.
     *
     * @param nIter power iterations of the randomized SVD (the seed uses 10)
     * @param seed  seed of the random projection (the seed uses 42)
     * @param sigma standard deviation of R's initial values
     */
    public record EdoraConfig(int nIter, long seed, double sigma) implements java.io.Serializable {
        /** The seed document's settings: n_iter 10, random_state 42, σ 1e-5. */
        public static final EdoraConfig DEFAULT = new EdoraConfig(10, 42, 1e-5);

        /** @throws IllegalArgumentException if nIter is negative or sigma is negative or not finite */
        public EdoraConfig {
            if (nIter < 0) {
                throw new IllegalArgumentException("edora n_iter: expected ≥ 0, got " + nIter);
            }
            if (!(sigma >= 0 && Double.isFinite(sigma))) {
                throw new IllegalArgumentException("edora sigma: expected a finite value ≥ 0, got " + sigma);
            }
        }
    }

    /** Checks every field; see the class comment. */
    public LoraConfig {
        if (r <= 0) {
            throw new IllegalArgumentException("r: `r` should be a positive integer value but the value passed is " + r);
        }
        if (!(loraAlpha > 0 && Double.isFinite(loraAlpha))) {
            throw new IllegalArgumentException("lora_alpha: expected a positive number, got " + loraAlpha);
        }
        if (!(loraDropout >= 0 && loraDropout < 1)) {
            throw new IllegalArgumentException("lora_dropout: expected a value in [0, 1), got " + loraDropout);
        }
        Objects.requireNonNull(bias, "bias");
        Objects.requireNonNull(initLoraWeights, "init_lora_weights");
        if (edora != null && !useDora) {
            throw new IllegalArgumentException("use_edora: EDoRA puts a DoRA magnitude on top, so it needs use_dora=true");
        }
        modulesToSave = modulesToSave == null ? List.of() : List.copyOf(modulesToSave);
        layersToTransform = layersToTransform == null ? List.of() : List.copyOf(layersToTransform);
        layersPattern = layersPattern == null ? List.of() : List.copyOf(layersPattern);
        rankPattern = rankPattern == null ? Map.of() : Map.copyOf(rankPattern);
        alphaPattern = alphaPattern == null ? Map.of() : Map.copyOf(alphaPattern);
        extra = extra == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(extra));
        rankPattern.forEach((k, v) -> {
            if (v <= 0) {
                throw new IllegalArgumentException("rank_pattern: rank for '" + k + "' must be positive, got " + v);
            }
        });
        alphaPattern.forEach((k, v) -> {
            if (!(v > 0)) {
                throw new IllegalArgumentException("alpha_pattern: alpha for '" + k + "' must be positive, got " + v);
            }
        });
    }

    /** A builder starting from PEFT's defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this config. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.r = r;
        b.loraAlpha = loraAlpha;
        b.loraDropout = loraDropout;
        b.targetModules = targetModules;
        b.excludeModules = excludeModules;
        b.bias = bias;
        b.fanInFanOut = fanInFanOut;
        b.modulesToSave = modulesToSave;
        b.initLoraWeights = initLoraWeights;
        b.useRslora = useRslora;
        b.useDora = useDora;
        b.edora = edora;
        b.layersToTransform = layersToTransform;
        b.layersPattern = layersPattern;
        b.rankPattern = rankPattern;
        b.alphaPattern = alphaPattern;
        b.baseModelNameOrPath = baseModelNameOrPath;
        b.taskType = taskType;
        b.inferenceMode = inferenceMode;
        b.extra = extra;
        return b;
    }

    /** The rank for the module called {@code name}: rank_pattern's first matching key, else r. */
    public int rankFor(String name) {
        for (Map.Entry<String, Integer> e : rankPattern.entrySet()) {
            if (patternKeyMatches(e.getKey(), name)) {
                return e.getValue();
            }
        }
        return r;
    }

    /** α for the module called {@code name}: alpha_pattern's first matching key, else lora_alpha. */
    public double alphaFor(String name) {
        for (Map.Entry<String, Double> e : alphaPattern.entrySet()) {
            if (patternKeyMatches(e.getKey(), name)) {
                return e.getValue();
            }
        }
        return loraAlpha;
    }

    /** The factor applied to B·A for a module of rank {@code rank} and alpha {@code alpha}. */
    public double scaling(int rank, double alpha) {
        return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /** True if the EDoRA variant is on. */
    public boolean useEdora() {
        return edora != null;
    }

    // PEFT matches pattern keys against the end of the module name, at a dot boundary.
    private static boolean patternKeyMatches(String key, String name) {
        return Pattern.compile("(.*\\.)?(" + key + ")$").matcher(name).matches();
    }

    /** Mutable builder for {@link LoraConfig}; unset fields keep PEFT's defaults. */
    public static final class Builder {
        private int r = 8;
        private double loraAlpha = 8;
        private double loraDropout = 0;
        private TargetModules targetModules;
        private TargetModules excludeModules;
        private Bias bias = Bias.NONE;
        private boolean fanInFanOut;
        private List<String> modulesToSave = List.of();
        private InitLoraWeights initLoraWeights = InitLoraWeights.KAIMING;
        private boolean useRslora;
        private boolean useDora;
        private EdoraConfig edora;
        private List<Integer> layersToTransform = List.of();
        private List<String> layersPattern = List.of();
        private Map<String, Integer> rankPattern = Map.of();
        private Map<String, Double> alphaPattern = Map.of();
        private String baseModelNameOrPath;
        private String taskType;
        private boolean inferenceMode;
        private Map<String, Object> extra = Map.of();

        private Builder() {
        }

        /** Rank. */
        public Builder r(int v) { r = v; return this; }

        /** α. */
        public Builder loraAlpha(double v) { loraAlpha = v; return this; }

        /** Dropout on the adapter input. */
        public Builder loraDropout(double v) { loraDropout = v; return this; }

        /** Targets as a list of names or suffixes ("all-linear" alone means all linear layers). */
        public Builder targetModules(String... names) { targetModules = TargetModules.ofList(List.of(names)); return this; }

        /** Targets in any form. */
        public Builder targetModules(TargetModules v) { targetModules = v; return this; }

        /** Targets as one regular expression over the whole name. */
        public Builder targetRegex(String regex) { targetModules = TargetModules.ofString(regex); return this; }

        /** Modules never wrapped. */
        public Builder excludeModules(TargetModules v) { excludeModules = v; return this; }

        /** Bias mode. */
        public Builder bias(Bias v) { bias = v; return this; }

        /** Targets store (in, out) weights. */
        public Builder fanInFanOut(boolean v) { fanInFanOut = v; return this; }

        /** Modules trained in full and saved with the adapter. */
        public Builder modulesToSave(String... v) { modulesToSave = List.of(v); return this; }

        /** Modules trained in full and saved with the adapter. */
        public Builder modulesToSave(List<String> v) { modulesToSave = v; return this; }

        /** Initialisation. */
        public Builder initLoraWeights(InitLoraWeights v) { initLoraWeights = v; return this; }

        /** α/√r scaling. */
        public Builder useRslora(boolean v) { useRslora = v; return this; }

        /** DoRA. */
        public Builder useDora(boolean v) { useDora = v; return this; }

        /** EDoRA (implies DoRA); null turns it off. */
        public Builder edora(EdoraConfig v) { edora = v; if (v != null) { useDora = true; } return this; }

        /** Layer indices to wrap. */
        public Builder layersToTransform(List<Integer> v) { layersToTransform = v; return this; }

        /** Layer-list names. */
        public Builder layersPattern(List<String> v) { layersPattern = v; return this; }

        /** Per-module ranks. */
        public Builder rankPattern(Map<String, Integer> v) { rankPattern = v; return this; }

        /** Per-module α. */
        public Builder alphaPattern(Map<String, Double> v) { alphaPattern = v; return this; }

        /** Base model recorded in the config file. */
        public Builder baseModelNameOrPath(String v) { baseModelNameOrPath = v; return this; }

        /** PEFT task type. */
        public Builder taskType(String v) { taskType = v; return this; }

        /** Inference-only flag. */
        public Builder inferenceMode(boolean v) { inferenceMode = v; return this; }

        /** Unused config-file fields to keep. */
        public Builder extra(Map<String, Object> v) { extra = v; return this; }

        /** The checked config. @throws IllegalArgumentException naming the first bad field */
        public LoraConfig build() {
            return new LoraConfig(r, loraAlpha, loraDropout, targetModules, excludeModules, bias, fanInFanOut,
                    modulesToSave, initLoraWeights, useRslora, useDora, edora, layersToTransform, layersPattern,
                    rankPattern, alphaPattern, baseModelNameOrPath, taskType, inferenceMode, extra);
        }
    }
}
