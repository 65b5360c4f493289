package dev.lora4j.nn;

import dev.lora4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Modules applied in order, named "0", "1", … as torch.nn.Sequential; backward runs them in reverse. Models use it
 * for their stacks of blocks too (GPT-2's h, BERT's encoder.layer), printed as the ModuleList they are in
 * Hugging Face.
 */
public final class Sequential extends Module {
    private final List<String> order = new ArrayList<>();
    private final String typeName;

    /** A sequence of the given modules. */
    public Sequential(Module... modules) {
        this("Sequential", List.of(modules));
    }

    /** A sequence printed under another type name, e.g. "ModuleList". */
    public Sequential(String typeName, List<? extends Module> modules) {
        this.typeName = typeName;
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
    public String typeName() {
        return typeName;
    }

    @Override
    public Tensor backward(Tensor dout) {
        Tensor d = dout;
        for (int i = order.size() - 1; i >= 0; i--) {
            d = children().get(order.get(i)).backward(d);
        }
        return d;
    }

    @Override
    public void backwardParametersOnly(Tensor dout) {
        Module[] applied = new Module[order.size()];
        for (int i = 0; i < applied.length; i++) {
            applied[i] = children().get(order.get(i));
        }
        backwardParametersOnly(dout, applied);
    }
}
