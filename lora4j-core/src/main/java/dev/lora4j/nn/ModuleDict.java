package dev.lora4j.nn;

/**
 * A container of named child modules with no computation of its own, as torch.nn.ModuleDict. LoRA layers keep
 * one entry per adapter name ({@code lora_A.default}), which is where the adapter name in a parameter's dotted
 * name comes from.
 */
public final class ModuleDict extends Module {
    /** Adds {@code module} under {@code key}; returns it. */
    public <M extends Module> M put(String key, M module) {
        return registerModule(key, module);
    }

    /** The module under {@code key}, or null. */
    public Module get(String key) {
        return children().get(key);
    }

    /** Removes the module under {@code key}; returns it or null. */
    public Module remove(String key) {
        return unregisterModule(key);
    }

    /** True if a module is stored under {@code key}. */
    public boolean containsKey(String key) {
        return children().containsKey(key);
    }
}
