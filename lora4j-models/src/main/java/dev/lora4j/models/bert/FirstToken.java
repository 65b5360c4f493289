package dev.lora4j.models.bert;

import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

/**
 * hidden[:, 0]: the first position of every sequence ([CLS] in BERT, {@code <s>} in RoBERTa), the input of
 * BERT's pooler and RoBERTa's classification head. Its gradient is zero at every other position.
 */
final class FirstToken extends Module {
    private Tensor first;
    private Tensor dhidden;
    private int T;

    @Override
    public Tensor forward(Tensor hidden) {                     // (B, T, C) -> (B, C)
        int B = hidden.dim(0);
        T = hidden.dim(1);
        int C = hidden.dim(2);
        first = Tensor.reuse(first, Shape.of(B, C));
        float[] h = hidden.denseData();
        for (int b = 0; b < B; b++) {
            System.arraycopy(h, b * T * C, first.data(), b * C, C);
        }
        return first;
    }

    @Override
    public Tensor backward(Tensor dout) {                      // (B, C) -> (B, T, C)
        int B = dout.dim(0);
        int C = dout.dim(1);
        dhidden = Tensor.reuse(dhidden, Shape.of(B, T, C)).fill(0f);
        float[] d = dout.denseData();
        for (int b = 0; b < B; b++) {
            System.arraycopy(d, b * C, dhidden.data(), b * T * C, C);
        }
        return dhidden;
    }
}
