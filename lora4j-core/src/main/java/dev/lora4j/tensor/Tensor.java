package dev.lora4j.tensor;

import java.util.Arrays;

/**
 * An n-dimensional array: a {@link Storage}, an offset into it, a {@link Shape} and a stride per dimension.
 *
 * <p>{@link #view}, {@link #narrow} and {@link #transpose} share storage with the original, as in PyTorch.
 * Kernels want contiguous float32 rows; {@link #contiguous()} and {@link #toF32()} give that, copying only when
 * the tensor is not already in that form. Tensors are not thread-safe.
 */
public final class Tensor {
    private final Storage storage;
    private final int offset;
    private final Shape shape;
    private final int[] strides;

    private Tensor(Storage storage, int offset, Shape shape, int[] strides) {
        this.storage = storage;
        this.offset = offset;
        this.shape = shape;
        this.strides = strides;
    }

    // ---- creation ------------------------------------------------------------------------------------------

    /** A new float32 tensor filled with zeros. */
    public static Tensor zeros(int... dims) {
        return zeros(Shape.of(dims));
    }

    /** A new float32 tensor filled with zeros (allocated on first use inside {@link #deferringZeros}). */
    public static Tensor zeros(Shape shape) {
        Storage s = DEFER_ZEROS.get() ? Storage.Mapped.zeros(shape.numel()) : new Storage.F32(new float[shape.numel()]);
        return new Tensor(s, 0, shape, contiguousStrides(shape));
    }

    private static final ThreadLocal<Boolean> DEFER_ZEROS = ThreadLocal.withInitial(() -> false);

    /**
     * Runs {@code build} with {@link #zeros} allocating nothing until a tensor's array is first asked for: a
     * model built only to receive a checkpoint's weights (which replace or overwrite every parameter) then never
     * holds a second, zero-filled copy of them.
     */
    public static <T> T deferringZeros(java.util.function.Supplier<T> build) {
        boolean before = DEFER_ZEROS.get();
        DEFER_ZEROS.set(true);
        try {
            return build.get();
        } finally {
            DEFER_ZEROS.set(before);
        }
    }

    /** Wraps {@code data} (not copied) as a contiguous float32 tensor of the given dimensions. */
    public static Tensor of(float[] data, int... dims) {
        Shape shape = Shape.of(dims);
        if (shape.numel() != data.length) {
            throw new IllegalArgumentException("Tensor.of: " + data.length + " values do not fill shape " + shape
                    + " (" + shape.numel() + " elements)");
        }
        return new Tensor(new Storage.F32(data), 0, shape, contiguousStrides(shape));
    }

    /** Wraps raw 16-bit patterns (not copied) as a contiguous bf16 or f16 tensor. */
    public static Tensor ofHalf(short[] bits, DType dtype, int... dims) {
        Shape shape = Shape.of(dims);
        if (shape.numel() != bits.length) {
            throw new IllegalArgumentException("Tensor.ofHalf: " + bits.length + " values do not fill shape " + shape);
        }
        return new Tensor(new Storage.Half(bits, dtype), 0, shape, contiguousStrides(shape));
    }

    /**
     * A contiguous float32 tensor over little-endian values in {@code segment} (e.g. a tensor of a memory-mapped
     * safetensors file), read in place; see {@link Storage.Mapped}.
     *
     * @throws IllegalArgumentException if the segment does not hold exactly the shape's elements
     */
    public static Tensor mapped(java.lang.foreign.MemorySegment segment, int... dims) {
        Shape shape = Shape.of(dims);
        if (segment.byteSize() != 4L * shape.numel()) {
            throw new IllegalArgumentException("Tensor.mapped: " + segment.byteSize() + " bytes do not hold shape " + shape
                    + " in float32 (" + 4L * shape.numel() + " bytes)");
        }
        return new Tensor(new Storage.Mapped(segment), 0, shape, contiguousStrides(shape));
    }

    /**
     * Returns {@code reusable} when it is a contiguous float32 tensor of exactly {@code shape}, else a new zero
     * tensor. Layers keep their output and gradient buffers this way, so a training step allocates nothing once
     * shapes settle.
     */
    public static Tensor reuse(Tensor reusable, Shape shape) {
        if (reusable != null && reusable.shape.equals(shape) && reusable.dtype() == DType.F32 && reusable.isContiguous()) {
            return reusable;
        }
        return zeros(shape);
    }

    private static int[] contiguousStrides(Shape shape) {
        int[] s = new int[shape.rank()];
        int stride = 1;
        for (int i = s.length - 1; i >= 0; i--) {
            s[i] = stride;
            stride *= shape.dim(i);
        }
        return s;
    }

    // ---- description ---------------------------------------------------------------------------------------

    /** The shape. */
    public Shape shape() { return shape; }

    /** Size of dimension {@code i}; negative counts from the end. */
    public int dim(int i) { return shape.dim(i); }

    /** Number of dimensions. */
    public int rank() { return shape.rank(); }

    /** Number of elements. */
    public int numel() { return shape.numel(); }

    /** Element type of the storage. */
    public DType dtype() { return storage.dtype(); }

    /** The storage this tensor reads, shared with its views. */
    public Storage storage() { return storage; }

    /** Index of element (0, …, 0) in the storage. */
    public int offset() { return offset; }

    /** Stride of dimension {@code i}, in elements. */
    public int stride(int i) { return strides[shape.normalize(i)]; }

    /** True when elements are laid out row-major without gaps. */
    public boolean isContiguous() {
        int expected = 1;
        for (int i = strides.length - 1; i >= 0; i--) {
            if (shape.dim(i) != 1 && strides[i] != expected) {
                return false;
            }
            expected *= shape.dim(i);
        }
        return true;
    }

    /**
     * The float32 array behind this tensor; element (0, …, 0) is at {@link #offset()}. For values read in place
     * from a file mapping, the first call copies them into an array that from then on backs the tensor (and
     * its views); the file is never written.
     *
     * @throws IllegalStateException if the storage is bf16 or f16
     */
    public float[] data() {
        if (storage instanceof Storage.F32 f) {
            return f.data();
        }
        if (storage instanceof Storage.Mapped m) {
            return m.array();
        }
        throw new IllegalStateException("Tensor.data: storage is " + dtype() + ", expected F32 (use toF32())");
    }

    /**
     * The values as a float32 array indexed from 0 in row-major order: the backing array itself when this tensor
     * already is exactly that (contiguous, float32, offset 0), else a new copy. Kernels index from 0, so layers
     * hand them this.
     */
    public float[] denseData() {
        return dtype() == DType.F32 && offset == 0 && isContiguous() ? data() : toFloatArray();
    }

    /**
     * The raw 16-bit array behind a bf16 or f16 tensor; element (0, …, 0) is at {@link #offset()}.
     *
     * @throws IllegalStateException if the storage is float32
     */
    public short[] halfData() {
        if (storage instanceof Storage.Half h) {
            return h.data();
        }
        throw new IllegalStateException("Tensor.halfData: storage is F32, expected BF16 or F16");
    }

    // ---- views ---------------------------------------------------------------------------------------------

    /** The same elements with other dimensions; one may be -1 and is then inferred. Needs a contiguous tensor. */
    public Tensor view(int... dims) {
        int[] d = dims.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < d.length; i++) {
            if (d[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException("view: more than one -1 in " + Arrays.toString(dims));
                }
                infer = i;
            } else {
                known *= d[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel() % known != 0) {
                throw new IllegalArgumentException("view: cannot view shape " + shape + " as " + Arrays.toString(dims));
            }
            d[infer] = (int) (numel() / known);
        }
        Shape target = Shape.of(d);
        if (target.numel() != numel()) {
            throw new IllegalArgumentException("view: shape " + shape + " has " + numel() + " elements, "
                    + target + " has " + target.numel());
        }
        if (!isContiguous()) {
            throw new IllegalStateException("view: tensor of shape " + shape + " is not contiguous; call contiguous() first");
        }
        return new Tensor(storage, offset, target, contiguousStrides(target));
    }

    /** Elements {@code start … start+length-1} along dimension {@code dim}, sharing storage. */
    public Tensor narrow(int dim, int start, int length) {
        int d = shape.normalize(dim);
        if (start < 0 || length < 0 || start + length > shape.dim(d)) {
            throw new IndexOutOfBoundsException("narrow: range [" + start + ", " + (start + length)
                    + ") is outside dimension " + d + " of size " + shape.dim(d) + " in shape " + shape);
        }
        int[] dims = shape.toArray();
        dims[d] = length;
        return new Tensor(storage, offset + start * strides[d], Shape.of(dims), strides.clone());
    }

    /** Dimensions {@code d0} and {@code d1} swapped, sharing storage. */
    public Tensor transpose(int d0, int d1) {
        int a = shape.normalize(d0);
        int b = shape.normalize(d1);
        int[] dims = shape.toArray();
        int[] st = strides.clone();
        int t = dims[a]; dims[a] = dims[b]; dims[b] = t;
        t = st[a]; st[a] = st[b]; st[b] = t;
        return new Tensor(storage, offset, Shape.of(dims), st);
    }

    // ---- copies --------------------------------------------------------------------------------------------

    /** This tensor if it is contiguous, else a contiguous copy in the same dtype. */
    public Tensor contiguous() {
        return isContiguous() ? this : copy();
    }

    /** A contiguous float32 tensor with these values: this one when it already is one. */
    public Tensor toF32() {
        return dtype() == DType.F32 && isContiguous() ? this : to(DType.F32);
    }

    /** A contiguous deep copy in the same dtype. */
    public Tensor copy() {
        return to(dtype());
    }

    /** A contiguous copy converted to {@code target} (round-to-nearest-even when narrowing). */
    public Tensor to(DType target) {
        int n = numel();
        Storage out;
        if (target == DType.F32) {
            float[] f = new float[n];
            forEachIndex((i, src) -> f[i] = storage.get(src));
            out = new Storage.F32(f);
        } else {
            short[] h = new short[n];
            if (storage instanceof Storage.Half half && half.dtype() == target) {
                forEachIndex((i, src) -> h[i] = half.data()[src]);
            } else {
                forEachIndex((i, src) -> h[i] = target.floatToHalf(storage.get(src)));
            }
            out = new Storage.Half(h, target);
        }
        return new Tensor(out, 0, shape, contiguousStrides(shape));
    }

    /** All values as a new row-major float array. */
    public float[] toFloatArray() {
        float[] f = new float[numel()];
        forEachIndex((i, src) -> f[i] = storage.get(src));
        return f;
    }

    private interface IndexVisitor {
        void visit(int flatIndex, int storageIndex);
    }

    /** Visits elements in row-major order with their storage index. */
    private void forEachIndex(IndexVisitor visitor) {
        int n = numel();
        if (isContiguous()) {
            for (int i = 0; i < n; i++) {
                visitor.visit(i, offset + i);
            }
            return;
        }
        int rank = rank();
        int[] idx = new int[rank];
        int src = offset;
        for (int i = 0; i < n; i++) {
            visitor.visit(i, src);
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                src += strides[d];
                if (idx[d] < shape.dim(d)) {
                    break;
                }
                src -= strides[d] * idx[d];
                idx[d] = 0;
            }
        }
    }

    // ---- element access and in-place arithmetic (float32 only) ---------------------------------------------

    /** The element at the given index, widened to float32. */
    public float get(int... index) {
        return storage.get(storageIndex(index));
    }

    /** Sets the element at the given index of a float32 tensor. */
    public void set(float value, int... index) {
        data()[storageIndex(index)] = value;
        dev.lora4j.kernels.Gemm.invalidate(data());
    }

    /** The single value of a one-element tensor. */
    public float item() {
        if (numel() != 1) {
            throw new IllegalStateException("item: tensor of shape " + shape + " has " + numel() + " elements, expected 1");
        }
        return storage.get(offset);
    }

    private int storageIndex(int[] index) {
        if (index.length != rank()) {
            throw new IllegalArgumentException("index " + Arrays.toString(index) + " has " + index.length
                    + " coordinates, tensor of shape " + shape + " has " + rank());
        }
        int s = offset;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape.dim(i)) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " is outside shape " + shape);
            }
            s += index[i] * strides[i];
        }
        return s;
    }

    /** Sets every element of this contiguous float32 tensor to {@code value}; returns this. */
    public Tensor fill(float value) {
        float[] d = contiguousData("fill");
        dev.lora4j.kernels.Gemm.invalidate(d);
        Arrays.fill(d, offset, offset + numel(), value);
        return this;
    }

    /** Copies the values of {@code src} (same shape, any dtype or layout) into this contiguous float32 tensor. */
    public Tensor copyFrom(Tensor src) {
        requireSameShape("copyFrom", src);
        float[] d = contiguousData("copyFrom");
        dev.lora4j.kernels.Gemm.invalidate(d);
        if (src.storage instanceof Storage.F32 f && src.isContiguous()) {
            float[] from = f.data();
            int s0 = src.offset, d0 = offset;
            if (from == d) {
                System.arraycopy(from, s0, d, d0, numel());    // overlapping ranges must move in one call
            } else {
                dev.lora4j.kernels.Parallel.forRanges(numel(), (i, j) -> System.arraycopy(from, s0 + i, d, d0 + i, j - i));
            }
        } else if (src.storage instanceof Storage.Half h && src.isContiguous()) {
            h.dtype().halfToFloat(h.data(), src.offset, d, offset, numel());
        } else if (src.storage instanceof Storage.Mapped m && m.readsMapping() && src.isContiguous()) {
            java.lang.foreign.MemorySegment.copy(m.segment(), Storage.Mapped.LAYOUT, 4L * src.offset, d, offset, numel());
        } else {
            src.forEachIndex((i, s) -> d[offset + i] = src.storage.get(s));
        }
        return this;
    }

    /**
     * this = a + b, element-wise, for contiguous float32 tensors of one shape; returns this. One pass where
     * copying a and then adding b would write this twice (a residual connection's sum, a gradient's two paths);
     * a or b may be this.
     */
    public Tensor setSum(Tensor a, Tensor b) {
        requireSameShape("setSum", a);
        requireSameShape("setSum", b);
        float[] d = contiguousData("setSum");
        dev.lora4j.kernels.Gemm.invalidate(d);
        float[] x = a.contiguousData("setSum"), y = b.contiguousData("setSum");
        int to = offset, xFrom = a.offset, yFrom = b.offset;
        dev.lora4j.kernels.Parallel.forRanges(numel(), (i, j) -> dev.lora4j.kernels.VectorOps.add(d, to + i, x, xFrom + i, y, yFrom + i, j - i));
        return this;
    }

    /** this += other, element-wise, for contiguous float32 tensors of one shape; returns this. */
    public Tensor addInPlace(Tensor other) {
        return addScaledInPlace(other, 1f);
    }

    /** this += scale·other, element-wise, for contiguous float32 tensors of one shape; returns this. */
    public Tensor addScaledInPlace(Tensor other, float scale) {
        requireSameShape("addInPlace", other);
        float[] d = contiguousData("addInPlace");
        dev.lora4j.kernels.Gemm.invalidate(d);
        float[] o = other.contiguousData("addInPlace");
        int to = offset, from = other.offset;
        // A residual connection adds whole activations: worth both cores, not a serial pass.
        dev.lora4j.kernels.Parallel.forRanges(numel(), (i, j) -> dev.lora4j.kernels.VectorOps.axpy(d, to + i, o, from + i, scale, j - i));
        return this;
    }

    /** this *= scale, element-wise; returns this. */
    public Tensor scaleInPlace(float scale) {
        float[] d = contiguousData("scaleInPlace");
        dev.lora4j.kernels.Gemm.invalidate(d);
        dev.lora4j.kernels.VectorOps.scale(d, offset, scale, numel());
        return this;
    }

    private float[] contiguousData(String op) {
        if (!isContiguous()) {
            throw new IllegalStateException(op + ": tensor of shape " + shape + " is not contiguous");
        }
        if (dtype() != DType.F32) {
            throw new IllegalStateException(op + ": tensor is " + dtype() + ", expected F32");
        }
        return data();
    }

    private void requireSameShape(String op, Tensor other) {
        if (!shape.equals(other.shape)) {
            throw new IllegalArgumentException(op + ": shapes differ: " + shape + " and " + other.shape);
        }
    }

    @Override
    public String toString() {
        return "Tensor" + shape + " " + dtype();
    }
}
