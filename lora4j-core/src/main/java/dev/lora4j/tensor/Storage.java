package dev.lora4j.tensor;

/**
 * The flat memory behind a tensor. Float32 data lives in a {@code float[]}; bf16 and f16 in a {@code short[]}
 * holding the raw 16-bit patterns, which kernels widen to float32 as they read them.
 */
public sealed interface Storage permits Storage.F32, Storage.Half {

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
}
