package dev.lora4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The flat memory behind a tensor. Float32 data lives in a {@code float[]}; bf16 and f16 in a {@code short[]}
 * holding the raw 16-bit patterns, which kernels widen to float32 as they read them; float32 weights loaded
 * from a safetensors file may stay in the file's mapping ({@link Mapped}).
 */
public sealed interface Storage permits Storage.F32, Storage.Half, Storage.Mapped {

    /** Element type of this storage. */
    DType dtype();

    /** Number of elements. */
    int length();

    /** Element {@code i} widened to float32. */
    float get(int i);

    /** Float32 storage. */
    record F32(float[] data) implements Storage {
        @Override public DType dtype() { return DType.F32; }
        @Override public int length() { return data.length; }
        @Override public float get(int i) { return data[i]; }
    }

    /** bf16 or f16 storage as raw 16-bit patterns. */
    record Half(short[] data, DType dtype) implements Storage {
        public Half {
            if (!dtype.isHalf()) {
                throw new IllegalArgumentException("Storage.Half: dtype " + dtype + " is not a 16-bit type");
            }
        }
        @Override public int length() { return data.length; }
        @Override public float get(int i) { return dtype.halfToFloat(data[i]); }
    }

    /**
     * Little-endian float32 values read in place from a memory-mapped file, as llama3.java and Jlama serve their
     * weights: loading copies nothing, and the GEMM packs a frozen weight straight from the mapping, so the
     * Java heap never holds the base model. The first caller that needs a Java array (a writer, or a kernel
     * without a mapped path) gets a copy, made once; from then on every read and write uses that copy.
     * Without a segment ({@link #zeros}) the values are all zero and nothing is allocated until an array is
     * asked for: what a model built only to be loaded holds until its weights arrive.
     */
    final class Mapped implements Storage {
        /** The layout of the mapped values. */
        public static final ValueLayout.OfFloat LAYOUT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private final MemorySegment segment;
        private final int length;
        private volatile float[] copy;

        private Mapped(int length) {
            this.segment = null;
            this.length = length;
        }

        /** {@code length} zeros, allocated only when {@link #array()} is first called. */
        public static Mapped zeros(int length) {
            return new Mapped(length);
        }

        /** Storage over {@code segment}'s bytes, four per value. */
        public Mapped(MemorySegment segment) {
            if (segment.byteSize() % 4 != 0 || segment.byteSize() / 4 > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("Storage.Mapped: " + segment.byteSize() + " bytes are not a float32 array");
            }
            this.segment = segment;
            this.length = (int) (segment.byteSize() / 4);
        }

        @Override public DType dtype() { return DType.F32; }
        @Override public int length() { return length; }

        @Override
        public float get(int i) {
            float[] c = copy;
            return c != null ? c[i] : segment == null ? 0f : segment.getAtIndex(LAYOUT, i);
        }

        /** The mapped bytes, or null for {@link #zeros}. */
        public MemorySegment segment() {
            return segment;
        }

        /** True while reads go to the mapping: not yet copied, and not {@link #zeros}. */
        public boolean readsMapping() {
            return copy == null && segment != null;
        }

        /** True once {@link #array()} has copied the values to the heap. */
        public boolean isCopied() {
            return copy != null;
        }

        /** The values as a Java array: copied from the mapping on the first call, the same array afterwards. */
        public float[] array() {
            float[] c = copy;
            if (c == null) {
                synchronized (this) {
                    if (copy == null) {
                        float[] values = new float[length];
                        if (segment != null) {
                            MemorySegment.copy(segment, LAYOUT, 0, values, 0, length);
                        }
                        dev.lora4j.kernels.Gemm.invalidate(this);   // packed from the mapping; the copy may change
                        copy = values;
                    }
                    c = copy;
                }
            }
            return c;
        }
    }
}
