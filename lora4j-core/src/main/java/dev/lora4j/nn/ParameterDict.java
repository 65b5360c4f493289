package dev.lora4j.nn;

import dev.lora4j.tensor.Tensor;

import java.util.stream.Collectors;

/** Named parameters with no computation of their own, as torch.nn.ParameterDict (PEFT's lora_embedding_A/B). */
public final class ParameterDict extends Module {
    /** Adds a parameter holding {@code value} under {@code key}; returns it. */
    public Parameter put(String key, Tensor value) {
        return registerParameter(key, value);
    }

    /** The parameter under {@code key}, or null. */
    public Parameter get(String key) {
        return ownParameters().get(key);
    }

    /** Removes the parameter under {@code key}; returns it or null. */
    public Parameter remove(String key) {
        return unregisterParameter(key);
    }

    /** True if a parameter is stored under {@code key}. */
    public boolean containsKey(String key) {
        return ownParameters().containsKey(key);
    }

    @Override
    public String toString() {
        if (ownParameters().isEmpty()) {
            return "ParameterDict()";
        }
        return ownParameters().entrySet().stream()
                .map(e -> "  (" + e.getKey() + "): Parameter containing: [torch.FloatTensor of size "
                        + e.getValue().value().shape().toString().replaceAll("[()\\[\\] ]", "").replace(',', 'x') + "]")
                .collect(Collectors.joining("\n", "ParameterDict(\n", "\n)"));
    }
}
