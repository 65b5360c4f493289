package dev.lora4j.models.gpt2;

import dev.lora4j.tensor.Tensor;

/**
 * Keys and values of every layer for the tokens decoded so far, so that each new token attends to them without
 * recomputing them (Hugging Face's past_key_values). Holds B sequences of up to {@code capacity} positions;
 * {@link #reorder} picks rows for beam search.
 */
public final class KvCache {
    private final Layer[] layers;
    private final int batch;
    private final int capacity;
    private final int width;
    private int length;

    /** One layer's keys and values, (B, capacity, C) each. */
    public final class Layer {
        private float[] keys;
        private float[] values;
        private float[] spareKeys;           // reorder writes here, then swaps: no allocation per beam step
        private float[] spareValues;

        private Layer() {
            keys = new float[batch * capacity * width];
            values = new float[batch * capacity * width];
        }

        /** Appends t positions of keys and values, both viewed (B, t, C). */
        void append(Tensor k, Tensor v) {
            int t = k.dim(1);
            float[] kd = k.contiguous().denseData();
            float[] vd = v.contiguous().denseData();
            for (int b = 0; b < batch; b++) {
                System.arraycopy(kd, b * t * width, keys, (b * capacity + length) * width, t * width);
                System.arraycopy(vd, b * t * width, values, (b * capacity + length) * width, t * width);
            }
        }

        /** Keys of the first {@code s} positions, (B, s, C). */
        Tensor keys(int s) {
            return Tensor.of(keys, batch, capacity, width).narrow(1, 0, s);
        }

        /** Values of the first {@code s} positions, (B, s, C). */
        Tensor values(int s) {
            return Tensor.of(values, batch, capacity, width).narrow(1, 0, s);
        }
    }

    /** An empty cache for a model of {@code nLayer} layers of width C, B sequences, up to capacity positions. */
    public KvCache(int nLayer, int batch, int capacity, int width) {
        this.batch = batch;
        this.capacity = capacity;
        this.width = width;
        layers = new Layer[nLayer];
        for (int i = 0; i < nLayer; i++) {
            layers[i] = new Layer();
        }
    }

    /** Positions cached so far. */
    public int length() {
        return length;
    }

    /** Sequences in the cache. */
    public int batch() {
        return batch;
    }

    /** Most positions it can hold. */
    public int capacity() {
        return capacity;
    }

    Layer layer(int i) {
        return layers[i];
    }

    /** Marks t more positions as cached (after every layer appended them). */
    void advance(int t) {
        length += t;
    }

    /**
     * Replaces each sequence b by sequence {@code rows[b]} (beam search keeping the best continuations).
     *
     * @throws IllegalArgumentException if rows has the wrong length or an index is out of range
     */
    public void reorder(int[] rows) {
        if (rows.length != batch) {
            throw new IllegalArgumentException("KvCache.reorder: " + rows.length + " rows for a batch of " + batch);
        }
        for (int r : rows) {
            if (r < 0 || r >= batch) {
                throw new IllegalArgumentException("KvCache.reorder: row " + r + " outside [0, " + batch + ")");
            }
        }
        int span = capacity * width;
        for (Layer l : layers) {
            if (l.spareKeys == null) {
                l.spareKeys = new float[l.keys.length];
                l.spareValues = new float[l.values.length];
            }
            for (int b = 0; b < batch; b++) {
                System.arraycopy(l.keys, rows[b] * span, l.spareKeys, b * span, length * width);
                System.arraycopy(l.values, rows[b] * span, l.spareValues, b * span, length * width);
            }
            float[] k = l.keys;
            float[] v = l.values;
            l.keys = l.spareKeys;
            l.values = l.spareValues;
            l.spareKeys = k;
            l.spareValues = v;
        }
    }
}
