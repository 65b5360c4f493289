package dev.lora4j.lora.loralib;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraLayer;
import dev.lora4j.nn.DenseLayer;
import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Ops;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

import java.util.Arrays;
import java.util.Random;

/**
 * loralib's {@code MergedLinear} (and, with one enabled group, its {@code Linear}): a dense layer whose output
 * is split into {@code enable_lora.length} equal groups (GPT-2's fused q, k, v in {@code c_attn}), with a LoRA
 * update only on the enabled groups. {@code lora_A} is (r·G × in) and {@code lora_B} (out/len·G × r) for G
 * enabled groups; group g's update s·B_g·A_g is written into its own slice of the output, the others stay zero
 * (loralib's grouped conv1d and zero_pad).
 *
 * <p>The layer keeps the wrapped layer's parameters under their own names ({@code weight}, {@code bias}), so a
 * model's checkpoint loads unchanged and {@link LoraLib#loraStateDict} holds only {@code lora_A}/{@code lora_B}.
 * With {@code mergeWeights}, eval mode merges the update into the weight and train mode takes it out again.
 */
public final class MergedLinear extends Module {
    private final DenseLayer dense;
    private final boolean[] enable;
    private final int[] groupStart;       // first output column of each enabled group
    private final int part;
    private final int r;
    private final float scaling;
    private final boolean mergeWeights;
    private final String typeName;
    private final Parameter loraA;
    private final Parameter loraB;
    private final Dropout dropout;
    private boolean merged;
    private Tensor x2;
    private Tensor xd;
    private Tensor h;
    private Tensor dh;
    private Tensor dxd;
    private Shape inputShape;
    private boolean applied;

    /**
     * Wraps {@code dense} (a Linear, or a Conv1D for fan_in_fan_out), sharing its weight and bias, with rank
     * {@code r}, α, dropout and the enabled groups; A is kaiming-uniform and B zero, as loralib.
     *
     * @throws IllegalArgumentException if r ≤ 0, no group is enabled, or the output does not split evenly
     */
    public MergedLinear(DenseLayer dense, int r, double alpha, double dropoutP, boolean[] enableLora,
                        boolean mergeWeights, long seed) {
        int out = dense.outFeatures();
        if (r <= 0) {
            throw new IllegalArgumentException("MergedLinear: r must be positive, got " + r);
        }
        if (enableLora.length == 0 || out % enableLora.length != 0) {
            throw new IllegalArgumentException("MergedLinear: out_features " + out + " does not split into "
                    + enableLora.length + " equal groups (enable_lora=" + Arrays.toString(enableLora) + ")");
        }
        int groups = 0;
        for (boolean e : enableLora) {
            groups += e ? 1 : 0;
        }
        if (groups == 0) {
            throw new IllegalArgumentException("MergedLinear: enable_lora " + Arrays.toString(enableLora) + " enables no group");
        }
        this.dense = dense;
        this.enable = enableLora.clone();
        this.part = out / enableLora.length;
        this.groupStart = new int[groups];
        for (int i = 0, g = 0; i < enableLora.length; i++) {
            if (enableLora[i]) {
                groupStart[g++] = i * part;
            }
        }
        this.r = r;
        this.scaling = (float) (alpha / r);
        this.mergeWeights = mergeWeights;
        this.typeName = enableLora.length == 1 ? "Linear" : "MergedLinear";
        registerParameter("weight", dense.weight());
        if (dense.bias() != null) {
            registerParameter("bias", dense.bias());
        }
        dense.weight().setRequiresGrad(false);
        Random rng = new Random(seed);
        loraA = registerParameter("lora_A", Init.kaimingUniform(Tensor.zeros(r * groups, dense.inFeatures()), Math.sqrt(5), dense.inFeatures(), rng));
        loraB = registerParameter("lora_B", Tensor.zeros(part * groups, r));
        dropout = registerModule("lora_dropout", new Dropout((float) dropoutP, seed + 1));
    }

    /** loralib's Linear: one group, LoRA on the whole output. */
    public static MergedLinear linear(DenseLayer dense, int r, double alpha, double dropoutP, boolean mergeWeights, long seed) {
        return new MergedLinear(dense, r, alpha, dropoutP, new boolean[]{true}, mergeWeights, seed);
    }

    /** The wrapped layer (its parameters are this layer's weight and bias). */
    public DenseLayer dense() {
        return dense;
    }

    /** lora_A, (r·G × in). */
    public Parameter loraA() {
        return loraA;
    }

    /** lora_B, (out/len·G × r). */
    public Parameter loraB() {
        return loraB;
    }

    /** True while the update is merged into the weight. */
    public boolean isMerged() {
        return merged;
    }

    @Override
    public void train(boolean mode) {
        super.train(mode);
        if (mergeWeights && mode && merged) {
            addDelta(-1f);
            merged = false;
        } else if (mergeWeights && !mode && !merged) {
            addDelta(1f);
            merged = true;
        }
    }

    /** The update in the weight's own layout: s·B_g·A_g in each enabled group's rows (columns for Conv1D). */
    public Tensor deltaWeight() {
        int in = dense.inFeatures(), out = dense.outFeatures();
        Tensor delta = Tensor.zeros(out, in);
        for (int g = 0; g < groupStart.length; g++) {
            Ops.matmul("MergedLinear", delta.narrow(0, groupStart[g], part), scaling,
                    loraB.value().narrow(0, g * part, part), false, loraA.value().narrow(0, g * r, r), false, 0f);
        }
        return dense.fanInFanOut() ? delta.transpose(0, 1).contiguous() : delta;
    }

    /**
     * The wrapped layer with the update merged into its weight (once): what merge-and-unload leaves. With
     * {@code safe} the merged weight is checked for NaN/Inf before it is written (PEFT's safe_merge), the
     * adapter named {@code name} in the error.
     *
     * @throws IllegalArgumentException if a safe merge produced NaN or infinity; the weight is then unchanged
     */
    public DenseLayer mergeAndUnwrap(boolean safe, String name) {
        if (!merged) {
            addDelta(1f, safe, name);
            merged = true;
        }
        return dense;
    }

    private void addDelta(float sign) {
        addDelta(sign, false, null);
    }

    // A trainable weight is always float32 (Parameter's invariant), so the update is stored as it is kept.
    private void addDelta(float sign, boolean safe, String name) {
        LoraLayer.addToWeight(dense.weight(), deltaWeight(), sign, safe, name);
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor base = dense.forward(x);
        applied = !merged;
        if (!applied) {
            return base;
        }
        int out = dense.outFeatures();
        inputShape = x.shape();
        x2 = x.contiguous().view(-1, dense.inFeatures());
        int n = x2.dim(0);
        Tensor result = base.view(n, out);   // the dense layer's own output buffer, which nothing else reads: LoRA adds into it
        xd = dropout.forward(x2);
        h = Tensor.reuse(h, Shape.of(n, r * groupStart.length));
        Ops.matmul("lora_A", h, xd, false, loraA.value(), true, 0f);
        for (int g = 0; g < groupStart.length; g++) {
            Ops.matmul("lora_B", result.narrow(1, groupStart[g], part), scaling, h.narrow(1, g * r, r), false,
                    loraB.value().narrow(0, g * part, part), true, 1f);
        }
        return result.view(inputShape.withLast(out).toArray());
    }

    @Override
    public Tensor backward(Tensor dout) {
        Tensor dBase = dense.backward(dout);
        if (!applied) {
            return dBase;
        }
        int n = x2.dim(0), in = dense.inFeatures();
        Tensor d = dout.contiguous().view(n, dense.outFeatures());
        dh = Tensor.reuse(dh, Shape.of(n, r * groupStart.length));
        for (int g = 0; g < groupStart.length; g++) {
            Tensor dSlice = d.narrow(1, groupStart[g], part);
            if (loraB.requiresGrad()) {
                Ops.matmul("lora_B", loraB.grad().narrow(0, g * part, part), scaling, dSlice, true, h.narrow(1, g * r, r), false, 1f);
            }
            Ops.matmul("lora_B", dh.narrow(1, g * r, r), scaling, dSlice, false, loraB.value().narrow(0, g * part, part), false, 0f);
        }
        if (loraA.requiresGrad()) {
            Ops.matmul("lora_A", loraA.grad(), dh, true, xd, false, 1f);
        }
        Tensor dx = dBase.view(n, in);   // the dense layer's own gradient buffer: the LoRA path adds into it
        if (dropout.passedThrough()) {
            Ops.matmul("lora_A", dx, dh, false, loraA.value(), false, 1f);                 // dx += dh·A
        } else {
            dxd = Tensor.reuse(dxd, Shape.of(n, in));
            Ops.matmul("lora_A", dxd, dh, false, loraA.value(), false, 0f);
            dx.addInPlace(dropout.backward(dxd));
        }
        return dx.view(inputShape.toArray());
    }

    @Override
    public String typeName() {
        return typeName;
    }

    @Override
    protected String extraRepr() {
        return "in_features=" + dense.inFeatures() + ", out_features=" + dense.outFeatures() + ", bias="
                + (dense.bias() != null ? "True" : "False") + (enable.length > 1 ? ", enable_lora=" + Arrays.toString(enable) : "");
    }
}
