package dev.lora4j.lora;

import dev.lora4j.nn.Module;
import dev.lora4j.nn.ModuleDict;
import dev.lora4j.nn.Parameter;
import dev.lora4j.nn.ParameterDict;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What every PEFT-style LoRA layer shares: the wrapped {@code base_layer}, per-adapter containers named as PEFT
 * names them ({@code lora_dropout}, {@code lora_A}, {@code lora_B}, {@code lora_embedding_A},
 * {@code lora_embedding_B}, {@code lora_magnitude_vector}), the set of active adapters, the disable switch and
 * the merge bookkeeping. Subclasses hold the arithmetic.
 *
 * <p>Merge and unmerge follow PEFT: merging an adapter twice warns and does nothing, unmerge undoes merged
 * adapters in reverse order, and a forward pass while adapters are disabled first unmerges them.
 */
public abstract class LoraLayer extends Module {
    /** How warnings reach the user; the CLI prints them, tests capture them. */
    private static volatile Consumer<String> warnings = msg -> System.err.println("warning: " + msg);

    /**
     * One adapter's settings in this layer.
     *
     * @param r       rank
     * @param alpha   α
     * @param scaling α/r, or α/√r with rslora
     * @param dora    DoRA magnitude present
     * @param edora   EDoRA latent r×r matrix present (A and B frozen)
     */
    public record Adapter(int r, double alpha, float scaling, boolean dora, boolean edora) {
    }

    protected final ModuleDict loraDropout;
    protected final ModuleDict loraA;
    protected final ModuleDict loraB;
    protected final ParameterDict loraEmbeddingA;
    protected final ParameterDict loraEmbeddingB;
    protected final ModuleDict loraMagnitude;
    private final Map<String, Adapter> adapters = new LinkedHashMap<>();
    private final List<String> merged = new ArrayList<>();
    private List<String> active = List.of(LoraConfig.DEFAULT_ADAPTER);
    private boolean disabled;

    protected LoraLayer(Module base) {
        registerModule("base_layer", base);
        loraDropout = registerModule("lora_dropout", new ModuleDict());
        loraA = registerModule("lora_A", new ModuleDict());
        loraB = registerModule("lora_B", new ModuleDict());
        loraEmbeddingA = registerModule("lora_embedding_A", new ParameterDict());
        loraEmbeddingB = registerModule("lora_embedding_B", new ParameterDict());
        loraMagnitude = registerModule("lora_magnitude_vector", new ModuleDict());
    }

    /** Replaces where warnings go (default: standard error). */
    public static void setWarningSink(Consumer<String> sink) {
        warnings = sink;
    }

    protected static void warn(String message) {
        warnings.accept(message);
    }

    /** The wrapped layer. */
    public Module baseLayer() {
        return child("base_layer");
    }

    /** Adapters in this layer by name, in the order they were added. */
    public Map<String, Adapter> adapters() {
        return Collections.unmodifiableMap(adapters);
    }

    /** The adapter called {@code name}. @throws IllegalArgumentException if this layer has none by that name */
    public Adapter adapter(String name) {
        Adapter a = adapters.get(name);
        if (a == null) {
            throw new IllegalArgumentException(typeName() + ": no adapter '" + name + "'; adapters are " + adapters.keySet());
        }
        return a;
    }

    /** Names of the active adapters. */
    public List<String> activeAdapters() {
        return active;
    }

    /** Names of the adapters currently merged into the base weight, in merge order. */
    public List<String> mergedAdapters() {
        return Collections.unmodifiableList(merged);
    }

    /** True if any adapter is merged. */
    public boolean isMerged() {
        return !merged.isEmpty();
    }

    /** True while adapters are switched off (forward gives the base layer's output). */
    public boolean adaptersDisabled() {
        return disabled;
    }

    /**
     * Adds (or replaces) the adapter {@code name} with rank r, α and the config's dropout, initialisation and
     * DoRA/EDoRA choice, drawing random values from {@code seed}. The new adapter is trainable; whether it is
     * active is the caller's choice ({@link #setActiveAdapters}).
     *
     * @throws IllegalArgumentException if r ≤ 0 or the variant is not supported by this layer type
     */
    public final void updateLayer(String name, int r, double alpha, LoraConfig config, long seed) {
        if (r <= 0) {
            throw new IllegalArgumentException("`r` should be a positive integer value but the value passed is " + r);
        }
        if (isMerged()) {
            throw new IllegalStateException(typeName() + ": cannot add adapter '" + name + "' while adapters "
                    + merged + " are merged; unmerge first");
        }
        removeAdapterModules(name);
        Adapter a = new Adapter(r, alpha, (float) config.scaling(r, alpha), config.useDora(), config.useEdora());
        createAdapter(name, a, config, seed);
        adapters.put(name, a);
    }

    /** Creates the modules and parameters of a new adapter. */
    protected abstract void createAdapter(String name, Adapter adapter, LoraConfig config, long seed);

    /** Removes the adapter {@code name} and its parameters. @throws IllegalArgumentException if absent */
    public void deleteAdapter(String name) {
        adapter(name);
        if (merged.contains(name)) {
            throw new IllegalStateException(typeName() + ": cannot delete adapter '" + name + "' while it is merged; unmerge first");
        }
        removeAdapterModules(name);
        adapters.remove(name);
        if (active.contains(name)) {
            List<String> rest = new ArrayList<>(active);
            rest.remove(name);
            if (rest.isEmpty() && !adapters.isEmpty()) {
                rest.add(adapters.keySet().iterator().next());
            }
            active = List.copyOf(rest);
        }
    }

    protected void removeAdapterModules(String name) {
        loraDropout.remove(name);
        loraA.remove(name);
        loraB.remove(name);
        loraEmbeddingA.remove(name);
        loraEmbeddingB.remove(name);
        loraMagnitude.remove(name);
    }

    /**
     * Makes {@code names} the active adapters (those present in this layer); as PEFT's set_adapter, the active
     * adapters' parameters become trainable and the others frozen.
     */
    public void setActiveAdapters(List<String> names) {
        active = List.copyOf(names);
        for (String name : adapters.keySet()) {
            boolean on = names.contains(name);
            adapterParameters(name).forEach(p -> p.setRequiresGrad(on && trainableByDesign(name, p)));
        }
    }

    /** Whether a parameter of adapter {@code name} trains when the adapter is active (EDoRA freezes A and B). */
    protected boolean trainableByDesign(String name, Parameter p) {
        return true;
    }

    /** The parameters belonging to adapter {@code name}. */
    public List<Parameter> adapterParameters(String name) {
        List<Parameter> out = new ArrayList<>();
        namedParameters().forEach((n, p) -> {
            if (!n.startsWith("base_layer.") && (n.contains("." + name + ".") || n.endsWith("." + name))) {
                out.add(p);
            }
        });
        return out;
    }

    /** Switches adapters off ({@code false}: forward gives the base output) or back on. */
    public void enableAdapters(boolean enabled) {
        disabled = !enabled;
    }

    /**
     * Merges the named adapters (all active ones if none are named) into the base weight. With {@code safe} the
     * sum is computed on a copy and rejected if any value is not finite; the base weight is then unchanged.
     *
     * @throws IllegalArgumentException naming the adapter if a safe merge produced NaN or infinity
     */
    public void merge(boolean safe, List<String> names) {
        List<String> todo = names == null || names.isEmpty() ? active : names;
        for (String name : todo) {
            if (!adapters.containsKey(name)) {
                continue;
            }
            if (merged.contains(name)) {
                warn("Already following adapters were merged " + merged + ". You are now additionally merging "
                        + name + "; '" + name + "' is already merged and is skipped.");
                continue;
            }
            mergeAdapter(name, safe);
            merged.add(name);
        }
    }

    /** Undoes every merge, in reverse order; warns if nothing is merged. */
    public void unmerge() {
        if (merged.isEmpty()) {
            warn("Already unmerged. Nothing to do.");
            return;
        }
        while (!merged.isEmpty()) {
            unmergeAdapter(merged.remove(merged.size() - 1));
        }
    }

    /** Adds adapter {@code name}'s update into the base weight. */
    protected abstract void mergeAdapter(String name, boolean safe);

    /** Removes adapter {@code name}'s update from the base weight. */
    protected abstract void unmergeAdapter(String name);

    /**
     * Initialises a new adapter's A and B as PEFT does: A kaiming-uniform(a=√5) over {@code fanIn} (or N(0, 1/r²)
     * for "gaussian") and B zero, so the adapter starts as a no-op; with init false both are random.
     */
    protected static void initPair(dev.lora4j.tensor.Tensor a, dev.lora4j.tensor.Tensor b, int fanIn, int r,
                                   LoraConfig.InitLoraWeights init, java.util.Random rng) {
        switch (init) {
            case KAIMING -> dev.lora4j.nn.Init.kaimingUniform(a, Math.sqrt(5), fanIn, rng);
            case GAUSSIAN -> dev.lora4j.nn.Init.normal(a, 0f, 1f / r, rng);
            case RANDOM -> {
                dev.lora4j.nn.Init.kaimingUniform(a, Math.sqrt(5), fanIn, rng);
                dev.lora4j.nn.Init.kaimingUniform(b, Math.sqrt(5), r, rng);
            }
        }
        if (init != LoraConfig.InitLoraWeights.RANDOM) {
            b.fill(0f);
        }
    }

    /**
     * weight += sign·delta in float32, stored back in the weight's dtype; with {@code safe} the sum is checked
     * for NaN/Inf before anything is written (the error names {@code adapterName}).
     *
     * @throws IllegalArgumentException if a safe merge produced NaN or infinity
     */
    public static void addToWeight(Parameter weight, dev.lora4j.tensor.Tensor delta, float sign, boolean safe, String adapterName) {
        dev.lora4j.tensor.Tensor merged = weight.value().toF32().copy().addScaledInPlace(delta, sign);
        if (safe) {
            requireFinite(merged.data(), adapterName);
        }
        dev.lora4j.tensor.DType dtype = weight.value().dtype();
        weight.setValue(dtype == dev.lora4j.tensor.DType.F32 ? merged : merged.to(dtype));
    }

    /** Fails a safe merge when {@code values} hold a NaN or an infinity. */
    protected static void requireFinite(float[] values, String adapterName) {
        for (float v : values) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("NaNs detected in the merged weights. The adapter " + adapterName
                        + " seems to be broken");
            }
        }
    }

    /**
     * The adapter names this forward pass applies: none when disabled (after unmerging) or merged, else the
     * active adapters present in this layer.
     */
    protected final List<String> adaptersToApply() {
        if (disabled) {
            if (isMerged()) {
                unmerge();
            }
            return List.of();
        }
        if (isMerged()) {
            return List.of();
        }
        List<String> out = new ArrayList<>(active.size());
        for (String a : active) {
            if (adapters.containsKey(a)) {
                out.add(a);
            }
        }
        return out;
    }

    @Override
    public String typeName() {
        return "lora." + baseLayer().typeName();
    }
}
