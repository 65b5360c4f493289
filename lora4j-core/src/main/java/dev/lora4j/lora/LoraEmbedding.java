package dev.lora4j.lora;

import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.EmbeddingLookup;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Ops;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * PEFT's {@code lora.Embedding}: out = W[ids] + s·Aᵀ[ids]·Bᵀ with {@code lora_embedding_A.<name>} (r × V) and
 * {@code lora_embedding_B.<name>} (C × r). As PEFT, A starts at zero and B from N(0, 1), so training starts at
 * the base model; no dropout is applied to ids.
 */
public final class LoraEmbedding extends LoraLayer implements EmbeddingLookup {
    private final Embedding base;
    private final int vocab;
    private final int dim;
    private final Map<String, Tensor> afterA = new HashMap<>();
    private List<String> applied = List.of();
    private int[] ids;
    private Tensor result;
    private Tensor dAfterA;

    /** Wraps {@code base}; adapters are added with {@link #updateLayer}. */
    public LoraEmbedding(Embedding base) {
        super(base);
        this.base = base;
        this.vocab = base.numEmbeddings();
        this.dim = base.embeddingDim();
    }

    @Override
    public Embedding baseLayer() {
        return base;
    }

    @Override
    protected void createAdapter(String name, Adapter a, LoraConfig config, long seed) {
        if (a.dora()) {
            throw new IllegalArgumentException("use_dora: DoRA is supported for Linear and Conv1D layers, not Embedding");
        }
        Random rng = new Random(seed);
        Tensor at = Tensor.zeros(a.r(), vocab);
        Tensor bt = Init.normal(Tensor.zeros(dim, a.r()), 0f, 1f, rng);
        if (config.initLoraWeights() == LoraConfig.InitLoraWeights.RANDOM) {
            Init.normal(at, 0f, 1f, rng);
        }
        loraEmbeddingA.put(name, at);
        loraEmbeddingB.put(name, bt);
    }

    /** A of adapter {@code name} (r × V). */
    public Parameter weightA(String name) {
        return loraEmbeddingA.get(name);
    }

    /** B of adapter {@code name} (C × r). */
    public Parameter weightB(String name) {
        return loraEmbeddingB.get(name);
    }

    @Override
    public Tensor forward(int[] ids, int... shape) {
        applied = adaptersToApply();
        Tensor baseOut = base.forward(ids, shape);
        if (applied.isEmpty()) {
            return baseOut;
        }
        this.ids = ids;
        int n = ids.length;
        result = Tensor.reuse(result, baseOut.shape()).copyFrom(baseOut);
        Tensor flat = result.view(n, dim);
        for (String name : applied) {
            Adapter a = adapter(name);
            Tensor h = gatherColumns(weightA(name).value(), ids, afterA.get(name));
            afterA.put(name, h);
            Ops.matmul("lora_embedding_B", flat, a.scaling(), h, false, weightB(name).value(), true, 1f);
        }
        return result;
    }

    // h[n, k] = A[k, ids[n]]: the embedding of ids in Aᵀ.
    private static Tensor gatherColumns(Tensor a, int[] ids, Tensor reuse) {
        int r = a.dim(0), v = a.dim(1);
        Tensor h = Tensor.reuse(reuse, Shape.of(ids.length, r));
        float[] ad = a.denseData(), hd = h.data();
        for (int i = 0; i < ids.length; i++) {
            for (int k = 0; k < r; k++) {
                hd[i * r + k] = ad[k * v + ids[i]];
            }
        }
        return h;
    }

    @Override
    public Tensor backward(Tensor dout) {
        base.backward(dout);
        if (applied.isEmpty()) {
            return null;
        }
        Tensor d = dout.contiguous().view(ids.length, dim);
        for (String name : applied) {
            Adapter a = adapter(name);
            Parameter pa = weightA(name), pb = weightB(name);
            Tensor h = afterA.get(name);
            if (pb.requiresGrad()) {
                Ops.matmul("lora_embedding_B", pb.grad(), a.scaling(), d, true, h, false, 1f);   // dB += s·dᵀ·h
            }
            if (pa.requiresGrad()) {
                dAfterA = Tensor.reuse(dAfterA, Shape.of(ids.length, a.r()));
                Ops.matmul("lora_embedding_B", dAfterA, a.scaling(), d, false, pb.value(), false, 0f);
                float[] ga = pa.grad().data(), dh = dAfterA.data();
                for (int i = 0; i < ids.length; i++) {                                          // scatter into columns
                    for (int k = 0; k < a.r(); k++) {
                        ga[k * vocab + ids[i]] += dh[i * a.r() + k];
                    }
                }
            }
        }
        return null;
    }

    /** ΔW of adapter {@code name}: s·(B·A)ᵀ, V × C, as PEFT's get_delta_weight for embeddings. */
    public Tensor deltaWeight(String name) {
        Tensor delta = Tensor.zeros(vocab, dim);
        Ops.matmul("lora_embedding", delta, adapter(name).scaling(), weightA(name).value(), true, weightB(name).value(), true, 0f);
        return delta;
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
