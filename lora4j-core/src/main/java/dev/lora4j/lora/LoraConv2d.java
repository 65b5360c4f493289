package dev.lora4j.lora;

import dev.lora4j.nn.Conv2d;
import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Ops;
import dev.lora4j.tensor.Tensor;

import java.util.List;
import java.util.Random;

/**
 * PEFT's {@code lora.Conv2d}: y = base(x) + s·B(A(dropout(x))), where A ({@code lora_A.<name>}) is a convolution
 * with the base layer's kernel, stride and padding into r channels and B ({@code lora_B.<name>}) a 1×1
 * convolution from r channels to the base's outputs. The merged update is s·B·A with B and A flattened,
 * reshaped to the base kernel.
 */
public final class LoraConv2d extends LoraLayer {
    private final Conv2d base;
    private List<String> applied = List.of();
    private Tensor result;
    private Tensor scaled;
    private Tensor dx;

    /** Wraps {@code base}; adapters are added with {@link #updateLayer}. */
    public LoraConv2d(Conv2d base) {
        super(base);
        this.base = base;
    }

    @Override
    public Conv2d baseLayer() {
        return base;
    }

    @Override
    protected void createAdapter(String name, Adapter a, LoraConfig config, long seed) {
        if (a.dora()) {
            throw new IllegalArgumentException("use_dora: lora4j supports DoRA on Linear and Conv1D layers, not Conv2d");
        }
        Random rng = new Random(seed);
        loraDropout.put(name, new Dropout((float) config.loraDropout(), seed ^ 0x5DEECE66DL));
        Conv2d la = loraA.put(name, new Conv2d(base.inChannels(), a.r(), base.kernelHeight(), base.kernelWidth(),
                base.stride(), base.padding(), false, seed + 1));
        Conv2d lb = loraB.put(name, new Conv2d(a.r(), base.outChannels(), 1, 1, 1, 0, false, seed + 2));
        initPair(la.weight().value(), lb.weight().value(), base.inChannels() * base.kernelHeight() * base.kernelWidth(), a.r(),
                config.initLoraWeights(), rng);
    }

    /** A of adapter {@code name}: (r, in, kh, kw). */
    public Parameter weightA(String name) {
        return ((Conv2d) loraA.get(name)).weight();
    }

    /** B of adapter {@code name}: (out, r, 1, 1). */
    public Parameter weightB(String name) {
        return ((Conv2d) loraB.get(name)).weight();
    }

    @Override
    public Tensor forward(Tensor x) {
        applied = adaptersToApply();
        Tensor baseOut = base.forward(x);
        if (applied.isEmpty()) {
            return baseOut;
        }
        result = Tensor.reuse(result, baseOut.shape()).copyFrom(baseOut);
        for (String name : applied) {
            Tensor h = loraA.get(name).forward(loraDropout.get(name).forward(x));
            result.addScaledInPlace(loraB.get(name).forward(h), adapter(name).scaling());
        }
        return result;
    }

    @Override
    public Tensor backward(Tensor dout) {
        Tensor dBase = base.backward(dout);
        if (applied.isEmpty()) {
            return dBase;
        }
        dx = Tensor.reuse(dx, dBase.shape()).copyFrom(dBase);
        for (String name : applied) {
            scaled = Tensor.reuse(scaled, dout.shape()).copyFrom(dout).scaleInPlace(adapter(name).scaling());
            Tensor dh = loraB.get(name).backward(scaled);
            dx.addInPlace(loraDropout.get(name).backward(loraA.get(name).backward(dh)));
        }
        return dx;
    }

    /** ΔW of adapter {@code name}: s·B·A as (out, in, kh, kw). */
    public Tensor deltaWeight(String name) {
        int out = base.outChannels(), r = adapter(name).r();
        int k = base.inChannels() * base.kernelHeight() * base.kernelWidth();
        Tensor delta = Tensor.zeros(out, k);
        Ops.matmul("lora.Conv2d", delta, adapter(name).scaling(), weightB(name).value().view(out, r), false,
                weightA(name).value().view(r, k), false, 0f);
        return delta.view(out, base.inChannels(), base.kernelHeight(), base.kernelWidth());
    }

    @Override
    protected void mergeAdapter(String name, boolean safe) {
        addToWeight(base.weight(), deltaWeight(name), 1f, safe, name);
    }

    @Override
    protected void unmergeAdapter(String name) {
        addToWeight(base.weight(), deltaWeight(name), -1f, false, name);
    }
}
