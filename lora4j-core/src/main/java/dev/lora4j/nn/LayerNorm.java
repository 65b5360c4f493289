package dev.lora4j.nn;

import dev.lora4j.kernels.LayerNormKernels;
import dev.lora4j.tensor.Tensor;

/** torch.nn.LayerNorm over the last dimension, with weight and bias. */
public final class LayerNorm extends Module {
    private final int channels;
    private final float eps;
    private final Parameter weight;
    private final Parameter bias;
    private Tensor input;   // (N, C)
    private Tensor out;
    private Tensor dinp;
    private float[] mean = new float[0];
    private float[] rstd = new float[0];

    /** A layer norm over {@code channels} with weight 1 and bias 0. */
    public LayerNorm(int channels, float eps) {
        this.channels = channels;
        this.eps = eps;
        weight = registerParameter("weight", Tensor.zeros(channels).fill(1f));
        bias = registerParameter("bias", Tensor.zeros(channels));
    }

    @Override
    public LayerNorm newLike() {
        return new LayerNorm(channels(), eps());
    }

    /** C, the normalized width. */
    public int channels() {
        return channels;
    }

    /** The variance epsilon. */
    public float eps() {
        return eps;
    }

    /** The scale γ (C). */
    public Parameter weight() {
        return weight;
    }

    /** The shift β (C). */
    public Parameter bias() {
        return bias;
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.rank() == 0 || x.dim(-1) != channels) {
            throw new IllegalArgumentException("LayerNorm: input has " + (x.rank() == 0 ? 0 : x.dim(-1))
                    + " channels, expected " + channels);
        }
        input = x.contiguous().toF32();
        int N = input.numel() / channels;
        out = Tensor.reuse(out, x.shape());
        if (mean.length != N) {
            mean = new float[N];
            rstd = new float[N];
        }
        LayerNormKernels.layerNormForward(out.data(), mean, rstd, input.denseData(), weight.value().denseData(),
                bias.value().denseData(), N, channels, eps);
        return out;
    }

    @Override
    public Tensor backward(Tensor dout) {
        Tensor d = dout.contiguous();
        if (!d.shape().equals(input.shape())) {
            throw new IllegalArgumentException("LayerNorm.backward: gradient shape " + d.shape()
                    + " differs from input shape " + input.shape());
        }
        int N = input.numel() / channels;
        dinp = Tensor.reuse(dinp, input.shape());
        LayerNormKernels.layerNormBackward(dinp.data(), weight.requiresGrad() ? weight.grad().data() : null,
                bias.requiresGrad() ? bias.grad().data() : null, d.denseData(), input.denseData(),
                weight.value().denseData(), mean, rstd, N, channels);
        return dinp;
    }

    @Override
    protected String extraRepr() {
        return "(" + channels + ",), eps=" + eps + ", elementwise_affine=True";
    }
}
