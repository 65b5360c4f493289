package dev.lora4j.lora;

import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Tensor;

/**
 * DoRA's trainable magnitude m (one value per output feature), registered as {@code weight} so that its full
 * name is PEFT's {@code lora_magnitude_vector.<adapter>.weight}.
 */
public final class DoraMagnitude extends Module {
    private final Parameter weight;

    /** A magnitude vector holding {@code initial} (the row norms of the base weight). */
    public DoraMagnitude(float[] initial) {
        weight = registerParameter("weight", Tensor.of(initial, initial.length));
    }

    /** m. */
    public Parameter weight() {
        return weight;
    }

    @Override
    public String typeName() {
        return "lora.dora.DoraLinearLayer";
    }
}
