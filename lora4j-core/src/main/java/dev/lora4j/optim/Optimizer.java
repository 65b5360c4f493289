package dev.lora4j.optim;

import dev.lora4j.nn.Parameter;

import java.util.List;

/** Updates a fixed list of parameters from their gradients, one step at a time. */
public interface Optimizer {
    /** Applies one update with learning rate {@code lr}; parameters without a gradient are skipped. */
    void step(float lr);

    /** The parameters this optimizer updates, in order. */
    List<Parameter> parameters();

    /** Sets every parameter's gradient to zero. */
    default void zeroGrad() {
        parameters().forEach(Parameter::zeroGrad);
    }
}
