package dev.lora4j.kernels;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Every element-wise and row kernel, and attention, on fixed inputs, writing into buffers made once, so that the
 * reproducibility test can compare its outputs across JVMs and the allocation test can watch a compiled run
 * allocate nothing.
 */
final class KernelWorkload {
    private static final int ROWS = 4, COLS = 301;
    private final float[] x = new float[ROWS * COLS], w = new float[COLS], b = new float[COLS];
    private final int[] targets = {3, 300, -100, 0};   // one ignored row
    private final List<float[]> outputs = new ArrayList<>();
    private final float[] soft = buffer(ROWS * COLS), losses = buffer(ROWS), lse = new float[ROWS],
            dlogits = buffer(ROWS * COLS), loss = buffer(1), ln = buffer(ROWS * COLS), dx = buffer(ROWS * COLS),
            dw = buffer(COLS), db = new float[COLS], mean = new float[ROWS], rstd = new float[ROWS], dot = buffer(1),
            dropout = buffer(ROWS * COLS), dropped = buffer(ROWS * COLS), transposed = buffer(8 * 11);
    private final float[][] gelu = new float[Gelu.Kind.values().length * 4][];
    // Attention over B sequences of T positions, NH heads of HS (wider than a panel), causal and with padding.
    private static final int B = 2, T = 9, NH = 2, HS = 20, C = NH * HS;
    private final float[] keyMask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    private final float[] qkv = new float[B * T * 3 * C], att = buffer(B * NH * T * T), attOut = buffer(B * T * C), dqkv = buffer(B * T * 3 * C);

    KernelWorkload() {
        Random rng = new Random(11);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rng.nextGaussian() * 4);
        }
        for (int c = 0; c < COLS; c++) {
            w[c] = 1f + 0.1f * (float) rng.nextGaussian();
            b[c] = 0.1f * (float) rng.nextGaussian();
        }
        for (int i = 0; i < qkv.length; i++) {
            qkv[i] = (float) rng.nextGaussian();
        }
        for (int i = 0; i < gelu.length; i++) {
            gelu[i] = buffer(x.length);
        }
    }

    private float[] buffer(int n) {
        float[] f = new float[n];
        outputs.add(f);
        return f;
    }

    /** Runs every kernel once. */
    void run() {
        System.arraycopy(x, 0, soft, 0, x.length);
        Softmax.forward(soft, ROWS, COLS);
        loss[0] = (float) CrossEntropy.forward(losses, lse, x, targets, null, ROWS, COLS, 0.1f, -100);
        CrossEntropy.backward(dlogits, x, lse, targets, null, 0.25f, ROWS, COLS, 0.1f, -100);
        for (Gelu.Kind kind : Gelu.Kind.values()) {
            float[][] g = {gelu[4 * kind.ordinal()], gelu[4 * kind.ordinal() + 1], gelu[4 * kind.ordinal() + 2],
                gelu[4 * kind.ordinal() + 3]};
            Gelu.forwardWithDerivative(kind, g[0], g[1], x, x.length);
            Gelu.forward(kind, g[2], x, x.length);
            Gelu.backward(kind, g[3], x, soft, x.length);
        }
        LayerNormKernels.layerNormForward(ln, mean, rstd, x, w, b, ROWS, COLS, 1e-5f);
        LayerNormKernels.layerNormBackward(dx, dw, db, soft, x, w, mean, rstd, ROWS, COLS);
        dot[0] = VectorOps.dot(x, 0, soft, 0, x.length);
        DropoutMask.fill(dropout, dropout.length, 0x5EED_0F_D20B_0017L, 0.1f, 1f / 0.9f);
        DropoutMask.apply(dropped, 0, x, 0, x.length, 0x5EED_0F_D20B_0017L, 0.1f, 1f / 0.9f);
        if (Transpose.AVAILABLE) {
            Transpose.block8(qkv, 5, 37, transposed, 2, 11);
        }
        // q, k and v as the three regions of a (B, T, 3C) array, as GPT-2's fused c_attn output; dout from x
        Attention.Rows q = new Attention.Rows(qkv, 0, 3 * C, T * 3 * C), k = new Attention.Rows(qkv, C, 3 * C, T * 3 * C),
                v = new Attention.Rows(qkv, 2 * C, 3 * C, T * 3 * C), dout = new Attention.Rows(x, 7, C, T * C);
        Attention.forward(new Attention.Rows(attOut, 0, C, T * C), att, q, k, v, keyMask, true, B, T, T, NH, HS, 0.2f);
        Attention.backward(new Attention.Rows(dqkv, 0, 3 * C, T * 3 * C), new Attention.Rows(dqkv, C, 3 * C, T * 3 * C),
                new Attention.Rows(dqkv, 2 * C, 3 * C, T * 3 * C), dout, att, q, k, v, true, B, T, T, NH, HS, 0.2f);
    }

    /** All outputs of the last run, in a fixed order. */
    float[] outputs() {
        int n = 0;
        for (float[] o : outputs) {
            n += o.length;
        }
        float[] all = new float[n];
        int at = 0;
        for (float[] o : outputs) {
            System.arraycopy(o, 0, all, at, o.length);
            at += o.length;
        }
        return all;
    }
}
