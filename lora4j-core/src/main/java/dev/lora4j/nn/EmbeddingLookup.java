package dev.lora4j.nn;

import dev.lora4j.tensor.Tensor;

/**
 * A table looked up by integer ids: {@link Embedding}, or a LoRA layer wrapping one. Models call their
 * embedding children through this so that a LoRA embedding can take an embedding's place.
 */
public interface EmbeddingLookup {
    /** Looks up {@code ids} laid out with dimensions {@code shape}; returns (…shape, C). */
    Tensor forward(int[] ids, int... shape);

    /** Accumulates gradients from d(loss)/d(output) of the last lookup; ids have no gradient, so returns null. */
    Tensor backward(Tensor dout);
}
