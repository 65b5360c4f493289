package dev.lora4j.nn;

import dev.lora4j.tensor.Ops;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

import java.util.Random;

/**
 * torch.nn.Conv2d (groups = 1, dilation = 1) on NCHW inputs, as im2col followed by one GEMM: every output pixel
 * is a row of the unfolded input (C·kh·kw values) times the weight viewed as (out, C·kh·kw). The backward pass
 * is the same GEMMs transposed, with col2im adding the unfolded gradient back onto the input.
 */
public final class Conv2d extends Module {
    private final int inChannels;
    private final int outChannels;
    private final int kh;
    private final int kw;
    private final int stride;
    private final int padding;
    private final Parameter weight;
    private final Parameter bias;
    private int n, h, w, ho, wo;
    private Tensor cols;       // (N·Ho·Wo, C·kh·kw)
    private Tensor rows;       // (N·Ho·Wo, out)
    private Tensor out;        // (N, out, Ho, Wo)
    private Tensor dRows;
    private Tensor dCols;
    private Tensor dx;

    /**
     * A convolution with a square or rectangular kernel, initialised as torch does (kaiming-uniform a=√5 with
     * fan_in = C·kh·kw, and the same bound for the bias).
     */
    public Conv2d(int inChannels, int outChannels, int kh, int kw, int stride, int padding, boolean hasBias, long seed) {
        if (inChannels <= 0 || outChannels <= 0 || kh <= 0 || kw <= 0 || stride <= 0 || padding < 0) {
            throw new IllegalArgumentException("Conv2d: channels, kernel and stride must be positive and padding ≥ 0, got in="
                    + inChannels + ", out=" + outChannels + ", kernel=" + kh + "x" + kw + ", stride=" + stride + ", padding=" + padding);
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kh = kh;
        this.kw = kw;
        this.stride = stride;
        this.padding = padding;
        int fanIn = inChannels * kh * kw;
        Random rng = new Random(seed);
        weight = registerParameter("weight", Init.kaimingUniform(Tensor.zeros(outChannels, inChannels, kh, kw), Math.sqrt(5), fanIn, rng));
        bias = hasBias ? registerParameter("bias", Init.uniform(Tensor.zeros(outChannels), (float) (1 / Math.sqrt(fanIn)), rng)) : null;
    }

    /** C_in. */
    public int inChannels() {
        return inChannels;
    }

    /** C_out. */
    public int outChannels() {
        return outChannels;
    }

    /** Kernel height. */
    public int kernelHeight() {
        return kh;
    }

    /** Kernel width. */
    public int kernelWidth() {
        return kw;
    }

    /** Stride (both directions). */
    public int stride() {
        return stride;
    }

    /** Zero padding (both directions). */
    public int padding() {
        return padding;
    }

    /** The weight (out, in, kh, kw). */
    public Parameter weight() {
        return weight;
    }

    /** The bias (out), or null. */
    public Parameter bias() {
        return bias;
    }

    @Override
    public Tensor forward(Tensor x) {                       // (N, C, H, W) -> (N, out, Ho, Wo)
        if (x.rank() != 4 || x.dim(1) != inChannels) {
            throw new IllegalArgumentException("Conv2d: expected input (N, " + inChannels + ", H, W), got " + x.shape());
        }
        n = x.dim(0);
        h = x.dim(2);
        w = x.dim(3);
        ho = (h + 2 * padding - kh) / stride + 1;
        wo = (w + 2 * padding - kw) / stride + 1;
        if (ho <= 0 || wo <= 0) {
            throw new IllegalArgumentException("Conv2d: input " + h + "x" + w + " is smaller than the kernel " + kh + "x" + kw);
        }
        int k = inChannels * kh * kw, m = n * ho * wo;
        cols = Tensor.reuse(cols, Shape.of(m, k));
        unfold(x.contiguous().denseData(), cols.data(), true);
        rows = Tensor.reuse(rows, Shape.of(m, outChannels));
        Ops.matmul("Conv2d", rows, cols, false, weight.value().view(outChannels, k), true, 0f);
        out = Tensor.reuse(out, Shape.of(n, outChannels, ho, wo));
        float[] r = rows.data(), o = out.data();
        float[] b = bias == null ? null : bias.value().denseData();
        int hw = ho * wo;
        for (int img = 0; img < n; img++) {
            for (int p = 0; p < hw; p++) {
                int src = (img * hw + p) * outChannels;
                for (int c = 0; c < outChannels; c++) {
                    o[(img * outChannels + c) * hw + p] = r[src + c] + (b == null ? 0f : b[c]);
                }
            }
        }
        return out;
    }

    @Override
    public Tensor backward(Tensor dout) {
        if (cols == null) {
            throw new IllegalStateException("Conv2d.backward called before forward");
        }
        int k = inChannels * kh * kw, m = n * ho * wo, hw = ho * wo;
        float[] d = dout.contiguous().denseData();
        dRows = Tensor.reuse(dRows, Shape.of(m, outChannels));
        float[] dr = dRows.data();
        for (int img = 0; img < n; img++) {
            for (int c = 0; c < outChannels; c++) {
                for (int p = 0; p < hw; p++) {
                    dr[(img * hw + p) * outChannels + c] = d[(img * outChannels + c) * hw + p];
                }
            }
        }
        if (weight.requiresGrad()) {
            Ops.matmul("Conv2d", weight.grad().view(outChannels, k), dRows, true, cols, false, 1f);
        }
        if (bias != null && bias.requiresGrad()) {
            Ops.addColumnSums(bias.grad(), dRows);
        }
        dCols = Tensor.reuse(dCols, Shape.of(m, k));
        Ops.matmul("Conv2d", dCols, dRows, false, weight.value().view(outChannels, k), false, 0f);
        dx = Tensor.reuse(dx, Shape.of(n, inChannels, h, w)).fill(0f);
        unfold(dx.data(), dCols.data(), false);
        return dx;
    }

    // im2col (toColumns: c[pixel, (ch, ky, kx)] = x[…], zero outside the image) and its adjoint col2im
    // (x[…] += c[pixel, (ch, ky, kx)]): one walk over the same index pairs.
    private void unfold(float[] x, float[] c, boolean toColumns) {
        int k = inChannels * kh * kw;
        for (int img = 0; img < n; img++) {
            for (int oy = 0; oy < ho; oy++) {
                for (int ox = 0; ox < wo; ox++) {
                    int row = ((img * ho + oy) * wo + ox) * k;
                    for (int ch = 0; ch < inChannels; ch++) {
                        for (int ky = 0; ky < kh; ky++) {
                            int iy = oy * stride - padding + ky;
                            for (int kx = 0; kx < kw; kx++) {
                                int ix = ox * stride - padding + kx;
                                int col = row + (ch * kh + ky) * kw + kx;
                                boolean inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                                if (toColumns) {
                                    c[col] = inside ? x[((img * inChannels + ch) * h + iy) * w + ix] : 0f;
                                } else if (inside) {
                                    x[((img * inChannels + ch) * h + iy) * w + ix] += c[col];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Override
    protected String extraRepr() {
        return inChannels + ", " + outChannels + ", kernel_size=(" + kh + ", " + kw + "), stride=(" + stride + ", " + stride + ")"
                + (padding > 0 ? ", padding=(" + padding + ", " + padding + ")" : "") + (bias == null ? ", bias=False" : "");
    }
}
