package dev.lora4j.nn;

import dev.lora4j.kernels.EmbeddingKernels;
import dev.lora4j.tensor.DType;
import dev.lora4j.tensor.Tensor;

import java.util.Arrays;
import java.util.Random;

/** torch.nn.Embedding: a (V, C) table looked up by integer ids; the gradient scatter-adds into the rows used. */
public final class Embedding extends Module implements EmbeddingLookup {
    private final int numEmbeddings;
    private final int embeddingDim;
    private final Parameter weight;
    private int[] ids;
    private int[] idShape;
    private Tensor out;

    /** A table of {@code numEmbeddings} rows of width {@code embeddingDim}, drawn N(0, 1) as torch does. */
    public Embedding(int numEmbeddings, int embeddingDim, long seed) {
        this.numEmbeddings = numEmbeddings;
        this.embeddingDim = embeddingDim;
        weight = registerParameter("weight", Init.normal(Tensor.zeros(numEmbeddings, embeddingDim), 0f, 1f, new Random(seed)));
    }

    @Override
    public Embedding newLike() {
        return new Embedding(numEmbeddings, embeddingDim, 0);
    }

    /** The table (V, C). */
    public Parameter weight() {
        return weight;
    }

    /** V. */
    public int numEmbeddings() {
        return numEmbeddings;
    }

    /** C. */
    public int embeddingDim() {
        return embeddingDim;
    }

    /**
     * Looks up {@code ids}, viewed with dimensions {@code shape} (e.g. B, T); returns (…shape, C).
     *
     * @throws IllegalArgumentException if an id is outside [0, V) or the shape does not match the id count
     */
    @Override
    public Tensor forward(int[] ids, int... shape) {
        int n = 1;
        for (int s : shape) {
            n *= s;
        }
        if (n != ids.length) {
            throw new IllegalArgumentException("Embedding: " + ids.length + " ids do not fill shape " + Arrays.toString(shape));
        }
        this.ids = ids;
        this.idShape = shape.clone();
        int[] outDims = Arrays.copyOf(shape, shape.length + 1);
        outDims[shape.length] = embeddingDim;
        out = Tensor.reuse(out, dev.lora4j.tensor.Shape.of(outDims));
        Tensor w = weight.value();
        if (w.storage() instanceof dev.lora4j.tensor.Storage.Mapped m && m.readsMapping()) {
            EmbeddingKernels.forward(out.data(), ids, m.segment(), w.offset(), ids.length, numEmbeddings, embeddingDim);
            return out;
        }
        boolean half = w.dtype() != DType.F32;
        EmbeddingKernels.forward(out.data(), ids, half ? null : w.data(), half ? w.halfData() : null, w.dtype(),
                w.offset(), ids.length, numEmbeddings, embeddingDim);
        return out;
    }

    /** Adds dout (…, C) into the gradient of the rows looked up by the last forward. Ids have no gradient. */
    @Override
    public Tensor backward(Tensor dout) {
        if (ids == null) {
            throw new IllegalStateException("Embedding.backward called before forward");
        }
        if (dout.numel() != ids.length * embeddingDim) {
            throw new IllegalArgumentException("Embedding.backward: gradient shape " + dout.shape() + " does not match "
                    + Arrays.toString(idShape) + " ids of width " + embeddingDim);
        }
        if (weight.requiresGrad()) {
            EmbeddingKernels.backward(weight.grad().data(), dout.contiguous().denseData(), ids, ids.length, embeddingDim);
        }
        return null;
    }

    @Override
    protected String extraRepr() {
        return numEmbeddings + ", " + embeddingDim;
    }
}
