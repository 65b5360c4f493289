package dev.lora4j.lora.loralib;

import dev.lora4j.lora.LoraConfig.Bias;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * loralib's helpers: {@code mark_only_lora_as_trainable}, {@code lora_state_dict} and loading a LoRA-only state
 * dict on top of a model whose base checkpoint is already loaded. Parameter names are the model's own.
 */
public final class LoraLib {
    private LoraLib() {
    }

    /**
     * Wraps every dense layer (Linear or Conv1D) whose name is, or ends with, one of {@code targets} in a
     * {@link MergedLinear} with the given rank, α, dropout and enabled output groups — the LoRA paper's placement
     * on GPT-2's fused {@code c_attn} with {@code enable_lora = [true, false, true]} (q and v, not k) — then
     * marks only the LoRA parameters (and biases per {@code bias}) trainable.
     *
     * @return the names of the wrapped layers
     * @throws IllegalArgumentException if no dense layer matches, listing the targets
     */
    public static java.util.List<String> injectMerged(Module model, java.util.List<String> targets, int r, double alpha, double dropout,
                                                      boolean[] enableLora, Bias bias, long seed) {
        dev.lora4j.lora.TargetModules.Names match = new dev.lora4j.lora.TargetModules.Names(targets);
        java.util.List<String> wrapped = new java.util.ArrayList<>();
        int i = 0;
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof dev.lora4j.nn.DenseLayer dense && match.matches(e.getKey())) {
                model.replaceModule(e.getKey(), new MergedLinear(dense, r, alpha, dropout, enableLora, false, seed + 7919L * i++));
                wrapped.add(e.getKey());
            }
        }
        if (wrapped.isEmpty()) {
            throw new IllegalArgumentException("target_modules " + targets + " match no Linear or Conv1D layer of the model");
        }
        markOnlyLoraAsTrainable(model, bias);
        return wrapped;
    }

    /**
     * Merges every {@link MergedLinear}'s update into its weight and puts the plain layer back in its place; with
     * {@code safe} each merged weight is checked for NaN/Inf before it is written.
     *
     * @return how many layers were merged
     * @throws IllegalArgumentException naming the layer if a safe merge produced NaN or infinity
     */
    public static int mergeAndUnload(Module model, boolean safe) {
        int n = 0;
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof MergedLinear m) {
                model.replaceModule(e.getKey(), m.mergeAndUnwrap(safe, e.getKey()));
                n++;
            }
        }
        return n;
    }

    /**
     * Freezes everything except parameters whose name contains {@code lora_}; with bias ALL every bias also
     * trains, with LORA_ONLY the biases of layers that hold LoRA parameters do.
     */
    public static void markOnlyLoraAsTrainable(Module model, Bias bias) {
        Set<String> kept = loraStateDict(model, bias).keySet();
        model.namedParameters().forEach((name, p) -> p.setRequiresGrad(kept.contains(name)));
    }

    /** The LoRA parameters (and biases by {@code bias} mode) by name: what loralib saves as the adapter. */
    public static Map<String, Tensor> loraStateDict(Module model, Bias bias) {
        Map<String, Parameter> all = model.namedParameters();
        Map<String, Tensor> out = new LinkedHashMap<>();
        Set<String> loraOwners = new TreeSet<>();
        all.forEach((name, p) -> {
            if (name.contains("lora_")) {
                out.put(name, p.value());
                loraOwners.add(owner(name.substring(0, name.indexOf("lora_"))));
            }
        });
        all.forEach((name, p) -> {
            boolean isBias = name.equals("bias") || name.endsWith(".bias");
            if (isBias && (bias == Bias.ALL || (bias == Bias.LORA_ONLY && loraOwners.contains(owner(name.substring(0, name.length() - 4)))))) {
                out.put(name, p.value());
            }
        });
        return out;
    }

    private static String owner(String prefixWithDot) {
        return prefixWithDot.endsWith(".") ? prefixWithDot.substring(0, prefixWithDot.length() - 1) : prefixWithDot;
    }

    /**
     * Copies {@code state} into the model's parameters of the same names, leaving the others as they are
     * (torch's strict=False for missing keys).
     *
     * @throws IllegalArgumentException naming the key if a name is not a parameter of the model or its shape differs
     */
    public static void loadNonStrict(Module model, Map<String, Tensor> state, String source) {
        Map<String, Parameter> params = model.namedParameters();
        state.forEach((name, t) -> {
            Parameter p = params.get(name);
            if (p == null) {
                throw new IllegalArgumentException(source + ": '" + name + "' is not a parameter of the model");
            }
            if (!p.value().shape().equals(t.shape())) {
                throw new IllegalArgumentException(source + ": '" + name + "' has shape " + t.shape()
                        + ", the model expects " + p.value().shape());
            }
            p.value().copyFrom(t);
        });
    }
}
