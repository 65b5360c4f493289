package dev.lora4j.nn;

/**
 * GPT-2's Conv1D: y = x·W + b with W stored (in, out), the layout PEFT calls fan_in_fan_out. Despite the name it
 * is a dense layer over the last dimension.
 */
public final class Conv1D extends DenseLayer {
    /** A Conv1D with {@code nx} inputs and {@code nf} outputs. */
    public Conv1D(int nx, int nf, long seed) {
        super(nx, nf, true, true, seed);
    }

    /** A Conv1D with a fixed seed (weights are usually loaded afterwards). */
    public Conv1D(int nx, int nf) {
        this(nx, nf, 0L);
    }

    @Override
    public Conv1D newLike() {
        return new Conv1D(inFeatures(), outFeatures());
    }

    @Override
    protected String extraRepr() {
        return "nf=" + outFeatures() + ", nx=" + inFeatures();
    }
}
