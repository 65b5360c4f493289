package dev.lora4j.nn;

import dev.lora4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Modules applied in order, named "0", "1", … as torch.nn.Sequential; backward runs them in reverse. */
public final class Sequential extends Module {
    private final List<String> order = new ArrayList<>();

    /** A sequence of the given modules. */
    public Sequential(Module... modules) {
        for (Module m : modules) {
            String name = Integer.toString(order.size());
            registerModule(name, m);
            order.add(name);
        }
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor h = x;
        for (String name : order) {
            h = children().get(name).forward(h);
        }
        return h;
    }

    @Override
    public Tensor backward(Tensor dout) {
        Tensor d = dout;
        for (int i = order.size() - 1; i >= 0; i--) {
            d = children().get(order.get(i)).backward(d);
        }
        return d;
    }
}
