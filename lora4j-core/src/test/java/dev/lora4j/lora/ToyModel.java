package dev.lora4j.lora;

import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Sequential;
import dev.lora4j.tensor.Tensor;

/**
 * A small model with diffusers-style attention names for injection tests: layers.N.to_q|to_k|to_v|to_out.0 and
 * a classifier head; forward sums q, k and v, projects through to_out, and classifies.
 */
final class ToyModel extends Module {
    static final int WIDTH = 6;

    static final class Block extends Module {
        private Tensor h;
        private Tensor dx;

        Block(long seed) {
            registerModule("to_q", new Linear(WIDTH, WIDTH, true, seed));
            registerModule("to_k", new Linear(WIDTH, WIDTH, true, seed + 1));
            registerModule("to_v", new Linear(WIDTH, WIDTH, true, seed + 2));
            registerModule("to_out", new Sequential(new Linear(WIDTH, WIDTH, true, seed + 3), new Dropout(0f, 0)));
        }

        @Override
        public Tensor forward(Tensor x) {
            h = Tensor.reuse(h, x.shape()).copyFrom(child("to_q").forward(x))
                    .addInPlace(child("to_k").forward(x)).addInPlace(child("to_v").forward(x));
            return child("to_out").forward(h);
        }

        @Override
        public Tensor backward(Tensor dout) {
            Tensor dh = child("to_out").backward(dout);
            dx = Tensor.reuse(dx, dh.shape()).copyFrom(child("to_q").backward(dh))
                    .addInPlace(child("to_k").backward(dh)).addInPlace(child("to_v").backward(dh));
            return dx;
        }
    }

    ToyModel(long seed) {
        registerModule("layers", new Sequential(new Block(seed), new Block(seed + 10)));
        registerModule("classifier", new Linear(WIDTH, 3, true, seed + 20));
    }

    @Override
    public Tensor forward(Tensor x) {
        return child("classifier").forward(child("layers").forward(x));
    }

    @Override
    public Tensor backward(Tensor dout) {
        return child("layers").backward(child("classifier").backward(dout));
    }
}
