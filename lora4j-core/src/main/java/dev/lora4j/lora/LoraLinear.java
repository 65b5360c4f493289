package dev.lora4j.lora;

import dev.lora4j.nn.DenseLayer;
import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.ModuleDict;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.DType;
import dev.lora4j.tensor.Ops;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * PEFT's {@code lora.Linear} over a {@link dev.lora4j.nn.Linear} or GPT-2 {@link dev.lora4j.nn.Conv1D}
 * (fan_in_fan_out): y = base(x) + Σ over active adapters of s·B·A·dropout(x), with A = {@code lora_A.<name>}
 * (r × in) and B = {@code lora_B.<name>} (out × r).
 *
 * <p>DoRA (use_dora): y = base(x) + (m/‖W‖ − 1)⊙(x_d·W0ᵀ) + (m/‖W‖)⊙s·B·A·x_d, where W = W0 + s·B·A, the
 * row norm ‖W‖ is treated as a constant (no gradient flows through it, as the DoRA paper and PEFT do) and m is
 * {@code lora_magnitude_vector.<name>.weight}. EDoRA inserts a trainable r×r matrix R
 * ({@code lora_latent_mapping.<name>}) between frozen A and B taken from a truncated SVD of W0.
 */
public final class LoraLinear extends LoraLayer {
    private final DenseLayer base;
    private final int in;
    private final int out;
    private ModuleDict latent;                          // EDoRA's R per adapter, registered on first use
    private final Map<String, Step> steps = new HashMap<>();
    private List<String> applied = List.of();
    private Tensor x2;                                  // (N, in) input of the last forward
    private Shape inputShape;
    private Tensor result;
    private Tensor ownResult;   // the buffer result uses when it cannot be the base layer's output
    private float[] baseRowNormsSq;                     // cached for a frozen half-precision W0
    private Tensor baseRowNormsOf;

    /** Per-adapter activations of the last forward, reused between steps. */
    private static final class Step {
        Tensor xd;          // dropout(x), (N, in)
        Tensor h;           // xd·Aᵀ, (N, r)
        Tensor g;           // h·Rᵀ for EDoRA, else h
        Tensor lora;        // g·Bᵀ, (N, out), DoRA only
        Tensor baseNoBias;  // xd·W0ᵀ, (N, out), DoRA only
        float[] norm;       // ‖W0 + s·B·A‖ per output row, DoRA only
        float[] factor;     // m / norm, DoRA only
        Tensor dScaled;     // scratch (N, out)
        Tensor dg;          // (N, r)
        Tensor dh;          // (N, r)
        Tensor dxd;         // (N, in)
    }

    /** Wraps {@code base}; adapters are added with {@link #updateLayer}. */
    public LoraLinear(DenseLayer base) {
        super(base);
        this.base = base;
        this.in = base.inFeatures();
        this.out = base.outFeatures();
    }

    /** The wrapped Linear or Conv1D. */
    @Override
    public DenseLayer baseLayer() {
        return base;
    }

    @Override
    protected void createAdapter(String name, Adapter a, LoraConfig config, long seed) {
        Random rng = new Random(seed);
        loraDropout.put(name, new Dropout((float) config.loraDropout(), seed ^ 0x5DEECE66DL));
        Linear la = loraA.put(name, new Linear(in, a.r(), false, seed + 1));
        Linear lb = loraB.put(name, new Linear(a.r(), out, false, seed + 2));
        if (a.edora()) {
            initEdora(name, la, lb, a, config.edora(), rng);
        } else {
            initPair(la.weight().value(), lb.weight().value(), in, a.r(), config.initLoraWeights(), rng);
        }
        if (a.dora()) {
            // PEFT starts m at ‖W0 + s·B·A‖, so the first forward equals the base output plus the plain LoRA update.
            loraMagnitude.put(name, new DoraMagnitude(doraNorms(name, a, null)));
        }
        for (Parameter p : adapterParameters(name)) {
            p.setRequiresGrad(trainableByDesign(name, p));
        }
    }

    private void initEdora(String name, Linear la, Linear lb, Adapter a, LoraConfig.EdoraConfig cfg, Random rng) {
        TruncatedSvd svd = TruncatedSvd.randomized(weightOutIn(), out, in, a.r(), cfg.nIter(), cfg.seed());
        float[] b = lb.weight().value().data();              // B = U_r (out × r)
        float[] av = la.weight().value().data();             // A = Σ_r·V_rᵀ (r × in)
        for (int i = 0; i < out; i++) {
            for (int k = 0; k < a.r(); k++) {
                b[i * a.r() + k] = (float) svd.u()[i * a.r() + k];
            }
        }
        for (int k = 0; k < a.r(); k++) {
            for (int j = 0; j < in; j++) {
                av[k * in + j] = (float) (svd.s()[k] * svd.vt()[k * in + j]);
            }
        }
        if (latent == null) {
            latent = registerModule("lora_latent_mapping", new ModuleDict());
        }
        Linear r = latent.put(name, new Linear(a.r(), a.r(), false));
        Init.normal(r.weight().value(), 0f, (float) cfg.sigma(), rng);
    }

    @Override
    protected void removeAdapterModules(String name) {
        super.removeAdapterModules(name);
        if (latent != null) {
            latent.remove(name);
        }
        steps.remove(name);
    }

    @Override
    protected boolean trainableByDesign(String name, Parameter p) {
        Adapter a = adapters().get(name);
        boolean edora = a != null ? a.edora() : latent != null && latent.containsKey(name);
        return !edora || (p != weightA(name) && p != weightB(name));
    }

    /** A of adapter {@code name} (r × in). */
    public Parameter weightA(String name) {
        return ((Linear) loraA.get(name)).weight();
    }

    /** B of adapter {@code name} (out × r). */
    public Parameter weightB(String name) {
        return ((Linear) loraB.get(name)).weight();
    }

    /** EDoRA's R of adapter {@code name} (r × r), or null for LoRA and DoRA adapters. */
    public Parameter weightR(String name) {
        return latent != null && latent.containsKey(name) ? ((Linear) latent.get(name)).weight() : null;
    }

    /** DoRA's magnitude of adapter {@code name} (out), or null. */
    public Parameter magnitude(String name) {
        return loraMagnitude.containsKey(name) ? ((DoraMagnitude) loraMagnitude.get(name)).weight() : null;
    }

    // ---- forward and backward ----------------------------------------------------------------------------

    @Override
    public Tensor forward(Tensor x) {
        applied = adaptersToApply();
        Tensor baseOut = base.forward(x);
        if (applied.isEmpty()) {
            return baseOut;
        }
        inputShape = x.shape();
        x2 = x.contiguous().view(-1, in);
        int n = x2.dim(0);
        // The LoRA products add into the base layer's own output buffer, which nothing else reads, rather than
        // into a copy of it; DoRA reads the base output again, so with a DoRA adapter the sum goes to a copy.
        boolean dora = false;
        for (String name : applied) {
            dora |= adapter(name).dora();
        }
        result = dora ? Tensor.reuse(ownResult, Shape.of(n, out)).copyFrom(baseOut.view(n, out)) : baseOut.view(n, out);
        if (dora) {
            ownResult = result;
        }
        for (String name : applied) {
            Adapter a = adapter(name);
            Step st = steps.computeIfAbsent(name, k -> new Step());
            Dropout drop = (Dropout) loraDropout.get(name);
            st.xd = drop.forward(x2);
            st.h = Tensor.reuse(st.h, Shape.of(n, a.r()));
            Ops.matmul("lora_A", st.h, st.xd, false, weightA(name).value(), true, 0f);
            Parameter r = weightR(name);
            if (r != null) {
                st.g = Tensor.reuse(st.g, Shape.of(n, a.r()));
                Ops.matmul("lora_latent_mapping", st.g, st.h, false, r.value(), true, 0f);
            } else {
                st.g = st.h;
            }
            if (!a.dora()) {
                Ops.matmul("lora_B", result, a.scaling(), st.g, false, weightB(name).value(), true, 1f);
            } else {
                doraForward(name, a, st, baseOut.view(n, out), drop.p() == 0f || !isTraining());
            }
        }
        return result.view(inputShape.withLast(out).toArray());
    }

    private void doraForward(String name, Adapter a, Step st, Tensor baseOut, boolean sameInput) {
        int n = st.xd.dim(0);
        st.lora = Tensor.reuse(st.lora, Shape.of(n, out));
        Ops.matmul("lora_B", st.lora, st.g, false, weightB(name).value(), true, 0f);
        st.baseNoBias = Tensor.reuse(st.baseNoBias, Shape.of(n, out));
        if (sameInput) {                                   // dropout is the identity: reuse the base output
            st.baseNoBias.copyFrom(baseOut);
            if (base.bias() != null) {
                float[] bias = base.bias().value().denseData();
                float[] d = st.baseNoBias.data();
                for (int i = 0; i < n; i++) {
                    dev.lora4j.kernels.VectorOps.axpy(d, i * out, bias, 0, -1f, out);
                }
            }
        } else {
            Ops.matmul("base_layer", st.baseNoBias, st.xd, false, base.weight().value(), !base.fanInFanOut(), 0f);
        }
        st.norm = doraNorms(name, a, st.norm);
        float[] m = magnitude(name).value().data();
        if (st.factor == null || st.factor.length != out) {
            st.factor = new float[out];
        }
        for (int j = 0; j < out; j++) {
            st.factor[j] = m[j] / st.norm[j];
        }
        float[] res = result.data(), bn = st.baseNoBias.data(), lo = st.lora.data();
        float s = a.scaling();
        for (int i = 0; i < n; i++) {
            int row = i * out;
            for (int j = 0; j < out; j++) {
                float c = st.factor[j];
                res[row + j] += (c - 1f) * bn[row + j] + c * s * lo[row + j];
            }
        }
    }

    @Override
    public Tensor backward(Tensor dout) {
        return backward(dout, true);
    }

    @Override
    public void backwardParametersOnly(Tensor dout) {
        backward(dout, false);
    }

    // With inputGradient false, only parameter gradients: the base layer and the LoRA branch skip d/dx.
    private Tensor backward(Tensor dout, boolean inputGradient) {
        Tensor dBase = null;
        if (inputGradient) {
            dBase = base.backward(dout);
        } else {
            base.backwardParametersOnly(dout);
        }
        if (applied.isEmpty()) {
            return dBase;
        }
        int n = x2.dim(0);
        Tensor d = dout.contiguous().view(n, out);
        Tensor dx = inputGradient ? dBase.view(n, in) : null;   // the base layer's own gradient buffer: LoRA adds into it
        for (String name : applied) {
            Adapter a = adapter(name);
            Step st = steps.get(name);
            Tensor dLora = d;                         // gradient reaching B·g, before the factor s
            if (a.dora()) {
                dLora = doraBackward(name, a, st, d);
            }
            Parameter pa = weightA(name), pb = weightB(name), pr = weightR(name);
            if (pb.requiresGrad()) {
                Ops.matmul("lora_B", pb.grad(), a.scaling(), dLora, true, st.g, false, 1f);      // dB += s·dᵀ·g
            }
            boolean belowB = inputGradient || pa.requiresGrad() || (pr != null && pr.requiresGrad());
            if (!belowB) {
                continue;
            }
            st.dg = Tensor.reuse(st.dg, Shape.of(n, a.r()));
            Ops.matmul("lora_B", st.dg, a.scaling(), dLora, false, pb.value(), false, 0f);         // dg = s·d·B
            Tensor dh = st.dg;
            if (pr != null) {
                if (pr.requiresGrad()) {
                    Ops.matmul("lora_latent_mapping", pr.grad(), st.dg, true, st.h, false, 1f);   // dR += dgᵀ·h
                }
                st.dh = Tensor.reuse(st.dh, Shape.of(n, a.r()));
                Ops.matmul("lora_latent_mapping", st.dh, st.dg, false, pr.value(), false, 0f);
                dh = st.dh;
            }
            if (pa.requiresGrad()) {
                Ops.matmul("lora_A", pa.grad(), dh, true, st.xd, false, 1f);                       // dA += dhᵀ·xd
            }
            if (!inputGradient) {
                continue;
            }
            Dropout drop = (Dropout) loraDropout.get(name);
            if (!a.dora() && drop.passedThrough()) {
                Ops.matmul("lora_A", dx, dh, false, pa.value(), false, 1f);                            // dx += dh·A
                continue;
            }
            st.dxd = Tensor.reuse(st.dxd, Shape.of(n, in));
            if (a.dora()) {                                  // the base path through x_d, scaled by (factor − 1)
                Ops.matmul("base_layer", st.dxd, st.dScaled, false, base.weight().value(), base.fanInFanOut(), 0f);
                Ops.matmul("lora_A", st.dxd, dh, false, pa.value(), false, 1f);
            } else {
                Ops.matmul("lora_A", st.dxd, dh, false, pa.value(), false, 0f);
            }
            dx.addInPlace(drop.backward(st.dxd));
        }
        return inputGradient ? dx.view(inputShape.toArray()) : null;
    }

    // Returns dout⊙factor (the gradient reaching the LoRA branch before s); leaves dout⊙(factor − 1) in st.dScaled
    // for the base path; adds the magnitude's gradient.
    private Tensor doraBackward(String name, Adapter a, Step st, Tensor d) {
        int n = d.dim(0);
        Parameter m = magnitude(name);
        float[] g = d.data();
        int off = d.offset();
        float[] bn = st.baseNoBias.data(), lo = st.lora.data();
        if (m.requiresGrad()) {
            float[] dm = m.grad().data();
            float s = a.scaling();
            for (int j = 0; j < out; j++) {
                double acc = 0;
                for (int i = 0; i < n; i++) {
                    acc += g[off + i * out + j] * (bn[i * out + j] + s * lo[i * out + j]);
                }
                dm[j] += (float) (acc / st.norm[j]);
            }
        }
        Tensor dLora = Tensor.reuse(st.lora, Shape.of(n, out));      // lora is no longer needed: reuse it
        st.dScaled = Tensor.reuse(st.dScaled, Shape.of(n, out));
        float[] dl = dLora.data(), ds = st.dScaled.data();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < out; j++) {
                float v = g[off + i * out + j];
                dl[i * out + j] = v * st.factor[j];
                ds[i * out + j] = v * (st.factor[j] - 1f);
            }
        }
        return dLora;
    }

    // ---- weights and merging -----------------------------------------------------------------------------

    /** The base weight as a dense float32 (out × in) array, whatever its storage layout and dtype. */
    float[] weightOutIn() {
        Tensor w = base.weight().value();
        return (base.fanInFanOut() ? w.transpose(0, 1) : w).toFloatArray();
    }

    private void setWeightFromOutIn(float[] w) {
        Tensor t = Tensor.of(w, out, in);
        if (base.fanInFanOut()) {
            t = t.transpose(0, 1).contiguous();
        }
        DType dtype = base.weight().value().dtype();
        base.weight().setValue(dtype == DType.F32 ? t : t.to(dtype));
    }

    /** A as the update sees it: R·A for EDoRA, else A itself (r × in). */
    private Tensor effectiveA(String name) {
        Tensor a = weightA(name).value();
        Parameter r = weightR(name);
        if (r == null) {
            return a;
        }
        Tensor ra = Tensor.zeros(a.dim(0), in);
        Ops.matmul("lora_latent_mapping", ra, r.value(), false, a, false, 0f);
        return ra;
    }

    /** The scaled update s·B·R·A (or s·B·A), out × in. */
    private Tensor scaledProduct(String name) {
        Tensor ba = Tensor.zeros(out, in);
        Ops.matmul("lora_B", ba, adapter(name).scaling(), weightB(name).value(), false, effectiveA(name), false, 0f);
        return ba;
    }

    /**
     * ΔW of adapter {@code name} in the base weight's own layout: s·B·A, transposed for fan_in_fan_out (PEFT's
     * get_delta_weight). For DoRA this is the plain low-rank part; the merge also rescales rows.
     */
    public Tensor deltaWeight(String name) {
        Tensor ba = scaledProduct(name);
        return base.fanInFanOut() ? ba.transpose(0, 1).contiguous() : ba;
    }

    // ‖W0 + s·B·A‖ per output row, from ‖W0‖² (cached for a frozen 16-bit W0) plus the low-rank terms, so that no
    // out × in temporary is needed.
    private float[] doraNorms(String name, Adapter a, float[] reuse) {
        float[] norms = reuse != null && reuse.length == out ? reuse : new float[out];
        Tensor w = base.weight().value();
        float[] w0sq = baseRowNormsSquared(w);
        Tensor aEff = effectiveA(name);
        int rank = a.r();
        Tensor p = Tensor.zeros(out, rank);                                       // W0·Aᵀ
        Ops.matmul("dora", p, w, base.fanInFanOut(), aEff, true, 0f);
        Tensor gram = Tensor.zeros(rank, rank);                                   // A·Aᵀ
        Ops.matmul("dora", gram, aEff, false, aEff, true, 0f);
        float[] b = weightB(name).value().denseData(), pd = p.data(), gd = gram.data();
        double s = a.scaling();
        for (int j = 0; j < out; j++) {
            double cross = 0, quad = 0;
            for (int k = 0; k < rank; k++) {
                double bjk = b[j * rank + k];
                cross += bjk * pd[j * rank + k];
                double gb = 0;
                for (int l = 0; l < rank; l++) {
                    gb += gd[k * rank + l] * b[j * rank + l];
                }
                quad += bjk * gb;
            }
            norms[j] = (float) Math.sqrt(Math.max(0, w0sq[j] + 2 * s * cross + s * s * quad));
        }
        return norms;
    }

    private float[] baseRowNormsSquared(Tensor w) {
        if (w.dtype() != DType.F32 && w == baseRowNormsOf) {
            return baseRowNormsSq;
        }
        float[] d = w.denseData();
        float[] sq = new float[out];
        for (int i = 0; i < (base.fanInFanOut() ? in : out); i++) {
            for (int j = 0; j < (base.fanInFanOut() ? out : in); j++) {
                float v = d[base.fanInFanOut() ? i * out + j : i * in + j];
                sq[base.fanInFanOut() ? j : i] += v * v;
            }
        }
        baseRowNormsSq = sq;
        baseRowNormsOf = w;
        return sq;
    }

    private final Map<String, float[]> doraMergeFactors = new HashMap<>();

    @Override
    protected void mergeAdapter(String name, boolean safe) {
        Adapter a = adapter(name);
        float[] w = weightOutIn();
        float[] delta = scaledProduct(name).data();
        for (int i = 0; i < w.length; i++) {
            w[i] += delta[i];
        }
        float[] factor = null;
        if (a.dora()) {             // W' = m/‖W0 + ΔW‖ ⊙ (W0 + ΔW), row by row; keep the factor for unmerge
            float[] m = magnitude(name).value().data();
            factor = new float[out];
            for (int j = 0; j < out; j++) {
                double ss = 0;
                for (int i = 0; i < in; i++) {
                    ss += (double) w[j * in + i] * w[j * in + i];
                }
                factor[j] = (float) (m[j] / Math.sqrt(ss));
                for (int i = 0; i < in; i++) {
                    w[j * in + i] *= factor[j];
                }
            }
        }
        if (safe) {
            requireFinite(w, name);
        }
        if (factor != null) {
            doraMergeFactors.put(name, factor);         // only once the merge is sure to happen
        }
        setWeightFromOutIn(w);
    }

    @Override
    protected void unmergeAdapter(String name) {
        Adapter a = adapter(name);
        float[] w = weightOutIn();
        if (a.dora()) {
            float[] factor = doraMergeFactors.remove(name);
            for (int j = 0; j < out; j++) {
                for (int i = 0; i < in; i++) {
                    w[j * in + i] /= factor[j];
                }
            }
        }
        float[] delta = scaledProduct(name).data();
        for (int i = 0; i < w.length; i++) {
            w[i] -= delta[i];
        }
        setWeightFromOutIn(w);
    }
}
