package dev.lora4j.nn;

import dev.lora4j.tensor.DType;
import dev.lora4j.tensor.Tensor;

/**
 * A learnable tensor and its gradient. The value may be stored as bf16 or f16 when the parameter is frozen;
 * the gradient is float32, allocated on first use and accumulated into by backward passes (+=).
 */
public final class Parameter {
    private Tensor value;
    private Tensor grad;
    private boolean requiresGrad = true;

    /** A parameter holding {@code value}. */
    public Parameter(Tensor value) {
        this.value = value;
    }

    /** The current value. */
    public Tensor value() {
        return value;
    }

    /**
     * Replaces the value with one of the same shape (loading weights, or converting a frozen weight to bf16).
     *
     * @throws IllegalArgumentException if the shape differs
     */
    public void setValue(Tensor newValue) {
        if (!newValue.shape().equals(value.shape())) {
            throw new IllegalArgumentException("Parameter.setValue: shape " + newValue.shape()
                    + " does not match " + value.shape());
        }
        if (requiresGrad && newValue.dtype() != DType.F32) {
            throw new IllegalArgumentException("Parameter.setValue: a trainable parameter must be F32, got " + newValue.dtype());
        }
        forgetPacked();
        value = newValue;
    }

    // Kernels may keep a packed copy of a frozen value; any change of value or of frozenness drops it.
    private void forgetPacked() {
        switch (value.storage()) {
            case dev.lora4j.tensor.Storage.F32 f -> dev.lora4j.kernels.Gemm.invalidate(f.data());
            case dev.lora4j.tensor.Storage.Half h -> dev.lora4j.kernels.Gemm.invalidate(h.data());
            case dev.lora4j.tensor.Storage.Mapped m -> {
                dev.lora4j.kernels.Gemm.invalidate(m);
                if (m.isCopied()) {
                    dev.lora4j.kernels.Gemm.invalidate(m.array());
                }
            }
        }
    }

    /** The float32 gradient, same shape as the value; zeros when first asked for. */
    public Tensor grad() {
        if (grad == null) {
            grad = Tensor.zeros(value.shape());
        }
        return grad;
    }

    /** True once a gradient buffer exists. */
    public boolean hasGrad() {
        return grad != null;
    }

    /** Whether optimizers update this parameter and backward passes compute its gradient. */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Freezes or unfreezes; freezing drops the gradient buffer. */
    public void setRequiresGrad(boolean requiresGrad) {
        if (requiresGrad && value.dtype() != DType.F32) {
            throw new IllegalStateException("Parameter: cannot train a " + value.dtype() + " parameter; convert it to F32 first");
        }
        forgetPacked();
        this.requiresGrad = requiresGrad;
        if (!requiresGrad) {
            grad = null;
        }
    }

    /** Sets the gradient to zero (keeps the buffer). */
    public void zeroGrad() {
        if (grad != null) {
            grad.fill(0f);
        }
    }

    /** Number of elements. */
    public int numel() {
        return value.numel();
    }
}
