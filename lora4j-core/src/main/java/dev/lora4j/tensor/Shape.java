package dev.lora4j.tensor;

import java.util.Arrays;

/**
 * The dimensions of a tensor, outermost first. Immutable; a scalar has no dimensions.
 */
public final class Shape {
    private final int[] dims;

    private Shape(int[] dims) {
        this.dims = dims;
    }

    /** A shape with the given dimensions; each must be non-negative. */
    public static Shape of(int... dims) {
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new IllegalArgumentException("Shape: dimension " + i + " is " + dims[i]
                        + " in " + Arrays.toString(dims) + ", expected a non-negative size");
            }
        }
        return new Shape(dims.clone());
    }

    /** Number of dimensions. */
    public int rank() {
        return dims.length;
    }

    /** Size of dimension {@code i}; negative {@code i} counts from the end, as in PyTorch. */
    public int dim(int i) {
        return dims[normalize(i)];
    }

    /** Size of the last dimension. */
    public int last() {
        return dims[dims.length - 1];
    }

    /** Product of all dimensions. */
    public int numel() {
        long n = 1;
        for (int d : dims) {
            n *= d;
        }
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("Shape " + this + " has " + n + " elements, more than a Java array holds");
        }
        return (int) n;
    }

    /** Product of all dimensions but the last: the number of rows when the tensor is seen as a matrix. */
    public int rows() {
        return dims.length == 0 ? 1 : numel() / Math.max(1, last());
    }

    /** A copy of the dimensions. */
    public int[] toArray() {
        return dims.clone();
    }

    /** This shape with the last dimension replaced. */
    public Shape withLast(int size) {
        int[] d = dims.clone();
        d[d.length - 1] = size;
        return new Shape(d);
    }

    /** Resolves a possibly negative dimension index against this rank. */
    public int normalize(int i) {
        int j = i < 0 ? i + dims.length : i;
        if (j < 0 || j >= dims.length) {
            throw new IndexOutOfBoundsException("dimension " + i + " is out of range for a tensor of shape " + this);
        }
        return j;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    /** Written as PyTorch prints sizes, e.g. {@code (4, 768)}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < dims.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(dims[i]);
        }
        return sb.append(")").toString();
    }
}
