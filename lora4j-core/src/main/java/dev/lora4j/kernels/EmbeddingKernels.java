package dev.lora4j.kernels;

import dev.lora4j.tensor.DType;

/** Embedding lookup and the scatter-add of its gradient. */
public final class EmbeddingKernels {
    private EmbeddingKernels() {
    }

    /**
     * out[n] = table[ids[n]] for n in [0, N); the table is float32 or 16-bit ({@code half} non-null).
     *
     * @throws IllegalArgumentException naming the position of an id outside [0, V)
     */
    public static void forward(float[] out, int[] ids, float[] table, short[] half, DType dtype,
                               int tableOffset, int N, int V, int C) {
        for (int n = 0; n < N; n++) {
            int src = tableOffset + checkId(ids, n, V) * C;
            if (table != null) {
                System.arraycopy(table, src, out, n * C, C);
            } else {
                for (int c = 0; c < C; c++) {
                    out[n * C + c] = dtype.halfToFloat(half[src + c]);
                }
            }
        }
    }

    /** As {@link #forward(float[], int[], float[], short[], DType, int, int, int, int)} for a float32 table read in place from a file mapping. */
    public static void forward(float[] out, int[] ids, java.lang.foreign.MemorySegment table, int tableOffset, int N, int V, int C) {
        for (int n = 0; n < N; n++) {
            long src = 4L * (tableOffset + (long) checkId(ids, n, V) * C);
            java.lang.foreign.MemorySegment.copy(table, dev.lora4j.tensor.Storage.Mapped.LAYOUT, src, out, n * C, C);
        }
    }

    private static int checkId(int[] ids, int n, int V) {
        int id = ids[n];
        if (id < 0 || id >= V) {
            throw new IllegalArgumentException("embedding: id " + id + " at position " + n + " is outside [0, " + V + ")");
        }
        return id;
    }

    /** dtable[ids[n]] += dout[n] for n in [0, N); repeated ids add up. */
    public static void backward(float[] dtable, float[] dout, int[] ids, int N, int C) {
        // Split by channel blocks so two threads never write the same row slice.
        int blocks = Math.max(1, Math.min(Parallel.threads(), C / 64));
        Parallel.forEach(blocks, blk -> {
            int c0 = (int) ((long) C * blk / blocks);
            int c1 = (int) ((long) C * (blk + 1) / blocks);
            for (int n = 0; n < N; n++) {
                VectorOps.axpy(dtable, ids[n] * C + c0, dout, n * C + c0, 1f, c1 - c0);
            }
        });
    }
}
