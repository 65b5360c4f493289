package dev.lora4j.lora;

import dev.lora4j.nn.EmbeddingLookup;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.ModuleDict;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Tensor;

/**
 * PEFT's {@code ModulesToSaveWrapper}: keeps the original module frozen under {@code original_module} and a
 * trainable copy per adapter under {@code modules_to_save.<name>}; the forward pass runs the active adapter's
 * copy (the original when adapters are disabled). This is how a classifier head trains next to a LoRA adapter.
 */
public final class ModulesToSaveWrapper extends Module implements EmbeddingLookup {
    private final ModuleDict copies;
    private String active = LoraConfig.DEFAULT_ADAPTER;
    private boolean disabled;

    /** Wraps {@code original}. */
    public ModulesToSaveWrapper(Module original) {
        registerModule("original_module", original);
        copies = registerModule("modules_to_save", new ModuleDict());
        original.requiresGrad(false);
    }

    /** The module as it was before wrapping. */
    public Module original() {
        return child("original_module");
    }

    /** Adds a trainable copy of the original for adapter {@code name}. */
    public void addAdapter(String name) {
        copies.remove(name);
        Module copy = copyOf(original());
        copy.requiresGrad(true);
        copy.train(isTraining());
        copies.put(name, copy);
    }

    /** The copy trained for adapter {@code name}, or null. */
    public Module copy(String name) {
        return copies.get(name);
    }

    /** Removes adapter {@code name}'s copy. */
    public void deleteAdapter(String name) {
        copies.remove(name);
    }

    /** Runs adapter {@code name}'s copy from now on (the original if it has none); only that copy trains. */
    public void setAdapter(String name) {
        active = name;
        copies.children().forEach((n, m) -> m.requiresGrad(n.equals(name)));
    }

    /** Switches to the original module ({@code false}) or back. */
    public void enableAdapters(boolean enabled) {
        disabled = !enabled;
    }

    /** The module the forward pass uses now. */
    public Module current() {
        Module copy = copies.get(active);
        return disabled || copy == null ? original() : copy;
    }

    @Override
    public Tensor forward(Tensor x) {
        return current().forward(x);
    }

    @Override
    public Tensor forward(int[] ids, int... shape) {
        return lookupOf(current()).forward(ids, shape);
    }

    @Override
    public Tensor backward(Tensor dout) {
        Module m = current();
        return m instanceof EmbeddingLookup e ? e.backward(dout) : m.backward(dout);
    }

    private static EmbeddingLookup lookupOf(Module m) {
        if (m instanceof EmbeddingLookup e) {
            return e;
        }
        throw new IllegalStateException("modules_to_save: " + m.typeName() + " is not an embedding");
    }

    /**
     * A deep copy ({@link Module#newLike()} with the values copied), float32 whatever the original's storage.
     *
     * @throws IllegalArgumentException for a module type that cannot be copied
     */
    static Module copyOf(Module m) {
        Module copy;
        try {
            copy = m.newLike();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("modules_to_save: " + e.getMessage(), e);
        }
        java.util.Map<String, Parameter> src = m.namedParameters();
        copy.namedParameters().forEach((n, p) -> p.value().copyFrom(src.get(n).value().toF32()));
        return copy;
    }

    @Override
    public String typeName() {
        return "ModulesToSaveWrapper";
    }
}
