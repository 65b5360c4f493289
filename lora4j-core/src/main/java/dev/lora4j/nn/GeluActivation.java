package dev.lora4j.nn;

import dev.lora4j.kernels.Gelu;
import dev.lora4j.kernels.VectorOps;
import dev.lora4j.tensor.Tensor;

/**
 * GELU as a module: the tanh form (GPT-2's gelu_new) or the exact erf form (BERT's gelu). In training mode the
 * forward pass also keeps gelu'(x), which it gets almost for free, so the backward pass is one product.
 */
public final class GeluActivation extends Module {
    private final Gelu.Kind kind;
    private Tensor input;
    private Tensor out;
    private Tensor derivative;
    private boolean derivativeFresh;   // derivative belongs to the current input
    private Tensor dinp;

    /** A GELU of the given kind. */
    public GeluActivation(Gelu.Kind kind) {
        this.kind = kind;
    }

    /** Which GELU this is. */
    public Gelu.Kind kind() {
        return kind;
    }

    @Override
    public Tensor forward(Tensor x) {
        input = x.contiguous().toF32();
        out = Tensor.reuse(out, input.shape());
        derivativeFresh = isTraining();
        if (derivativeFresh) {
            derivative = Tensor.reuse(derivative, input.shape());
            Gelu.forwardWithDerivative(kind, out.data(), derivative.data(), input.denseData(), input.numel());
        } else {
            Gelu.forward(kind, out.data(), input.denseData(), input.numel());
        }
        return out;
    }

    @Override
    public Tensor backward(Tensor dout) {
        Tensor d = dout.contiguous();
        if (!d.shape().equals(input.shape())) {
            throw new IllegalArgumentException("GELU.backward: gradient shape " + d.shape()
                    + " differs from input shape " + input.shape());
        }
        dinp = Tensor.reuse(dinp, input.shape());
        if (derivativeFresh) {
            VectorOps.multiplyParallel(dinp.data(), 0, derivative.data(), 0, d.denseData(), 0, input.numel());
        } else {
            Gelu.backward(kind, dinp.data(), input.denseData(), d.denseData(), input.numel());
        }
        return dinp;
    }

    @Override
    public String typeName() {
        return kind == Gelu.Kind.TANH ? "NewGELUActivation" : "GELUActivation";
    }
}
