package dev.lora4j.nn;

import dev.lora4j.tensor.Ops;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

import java.util.Random;

/**
 * An affine map y = x·W' + b over the last dimension, the common body of {@link Linear} (W stored (out, in), as
 * torch.nn.Linear) and {@link Conv1D} (W stored (in, out), as GPT-2's Conv1D, "fan_in_fan_out"). Inputs are
 * (…, in); outputs (…, out).
 */
public abstract sealed class DenseLayer extends Module permits Linear, Conv1D {
    private final int inFeatures;
    private final int outFeatures;
    private final boolean fanInFanOut;
    private final Parameter weight;
    private final Parameter bias;
    private Tensor input;      // (N, in), saved by forward
    private Shape inputShape;
    private Tensor out;        // (N, out), reused
    private Tensor dinp;       // (N, in), reused

    DenseLayer(int inFeatures, int outFeatures, boolean hasBias, boolean fanInFanOut, long seed) {
        if (inFeatures <= 0 || outFeatures <= 0) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": features must be positive, got in="
                    + inFeatures + ", out=" + outFeatures);
        }
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.fanInFanOut = fanInFanOut;
        Tensor w = fanInFanOut ? Tensor.zeros(inFeatures, outFeatures) : Tensor.zeros(outFeatures, inFeatures);
        // torch.nn.Linear's default: kaiming_uniform(a=√5) = U(−1/√in, 1/√in), and the same bound for the bias.
        Random rng = new Random(seed);
        weight = registerParameter("weight", Init.kaimingUniform(w, Math.sqrt(5), inFeatures, rng));
        bias = hasBias
                ? registerParameter("bias", Init.uniform(Tensor.zeros(outFeatures), (float) (1.0 / Math.sqrt(inFeatures)), rng))
                : null;
    }

    /** Input width. */
    public int inFeatures() {
        return inFeatures;
    }

    /** Output width. */
    public int outFeatures() {
        return outFeatures;
    }

    /** True when the weight is stored (in, out), as GPT-2's Conv1D. */
    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    /** The weight: (out, in) for Linear, (in, out) for Conv1D. */
    public Parameter weight() {
        return weight;
    }

    /** The bias (out), or null. */
    public Parameter bias() {
        return bias;
    }

    @Override
    public Tensor forward(Tensor x) {                                   // (…, in) -> (…, out)
        if (x.rank() == 0 || x.dim(-1) != inFeatures) {
            throw new IllegalArgumentException(typeName() + ": input has " + (x.rank() == 0 ? 0 : x.dim(-1))
                    + " features (shape " + x.shape() + "), expected " + inFeatures);
        }
        inputShape = x.shape();
        input = x.contiguous().view(-1, inFeatures);
        int N = input.dim(0);
        out = Tensor.reuse(out, Shape.of(N, outFeatures));
        boolean frozen = !weight.requiresGrad();
        if (bias != null) {
            // A frozen bias may be stored as bf16: denseData gives it as float32.
            Ops.matmulBias(typeName(), out, input, false, weight.value(), !fanInFanOut, bias.value().denseData(), frozen);
        } else if (frozen) {
            Ops.matmulFrozen(typeName(), out, input, false, weight.value(), !fanInFanOut, 0f);
        } else {
            Ops.matmul(typeName(), out, input, false, weight.value(), !fanInFanOut, 0f);
        }
        return out.view(inputShape.withLast(outFeatures).toArray());
    }

    @Override
    public Tensor backward(Tensor dout) {                               // (…, out) -> (…, in)
        Tensor d = parameterGradients(dout);
        dinp = Tensor.reuse(dinp, input.shape());
        if (weight.requiresGrad()) {
            Ops.matmul(typeName(), dinp, d, false, weight.value(), fanInFanOut, 0f);      // dx = dout·W
        } else {
            Ops.matmulFrozen(typeName(), dinp, d, false, weight.value(), fanInFanOut, 0f);
        }
        return dinp.view(inputShape.toArray());
    }

    @Override
    public void backwardParametersOnly(Tensor dout) {
        parameterGradients(dout);
    }

    // Accumulates dW and db for the last forward; returns dout as (N, out).
    private Tensor parameterGradients(Tensor dout) {
        if (input == null) {
            throw new IllegalStateException(typeName() + ".backward called before forward");
        }
        Tensor d = dout.contiguous().view(-1, outFeatures);
        if (d.dim(0) != input.dim(0)) {
            throw new IllegalArgumentException(typeName() + ".backward: gradient has " + d.dim(0)
                    + " rows, forward saw " + input.dim(0));
        }
        if (weight.requiresGrad()) {
            if (fanInFanOut) {
                Ops.matmul(typeName(), weight.grad(), input, true, d, false, 1f);     // dW += xᵀ·dout
            } else {
                Ops.matmul(typeName(), weight.grad(), d, true, input, false, 1f);     // dW += doutᵀ·x
            }
        }
        if (bias != null && bias.requiresGrad()) {
            Ops.addColumnSums(bias.grad(), d);
        }
        return d;
    }

    @Override
    protected String extraRepr() {
        return "in_features=" + inFeatures + ", out_features=" + outFeatures + ", bias=" + (bias != null ? "True" : "False");
    }
}
