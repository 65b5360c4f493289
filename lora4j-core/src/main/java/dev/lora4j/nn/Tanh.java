package dev.lora4j.nn;

import dev.lora4j.tensor.Tensor;

/** torch.nn.Tanh: y = tanh(x); dy/dx = 1 − y². */
public final class Tanh extends Module {
    private Tensor out;
    private Tensor dinp;

    @Override
    public Tensor forward(Tensor x) {
        float[] in = x.denseData();
        out = Tensor.reuse(out, x.shape());
        float[] o = out.data();
        for (int i = 0; i < o.length; i++) {
            o[i] = (float) Math.tanh(in[i]);
        }
        return out;
    }

    @Override
    public Tensor backward(Tensor dout) {
        float[] d = dout.denseData();
        float[] y = out.data();
        dinp = Tensor.reuse(dinp, out.shape());
        float[] g = dinp.data();
        for (int i = 0; i < g.length; i++) {
            g[i] = d[i] * (1f - y[i] * y[i]);
        }
        return dinp;
    }
}
