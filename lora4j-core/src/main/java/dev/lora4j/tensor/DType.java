package dev.lora4j.tensor;

/**
 * Element types a tensor can be stored in. Compute is always float32: half-precision storage exists so a
 * frozen base model costs half the memory, and kernels widen its elements to float32 as they read them.
 */
public enum DType {
    /** IEEE-754 single precision, 4 bytes. */
    F32(4),
    /** bfloat16: the upper 16 bits of a float32, 2 bytes. */
    BF16(2),
    /** IEEE-754 half precision, 2 bytes. */
    F16(2);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for the two 16-bit types. */
    public boolean isHalf() {
        return this != F32;
    }

    /** Widens one stored 16-bit element of this type to float32. */
    public float halfToFloat(short bits) {
        return switch (this) {
            case BF16 -> Float.intBitsToFloat((bits & 0xffff) << 16);
            case F16 -> Float.float16ToFloat(bits);
            case F32 -> throw new IllegalStateException("F32 is not a 16-bit type");
        };
    }

    /** Widens {@code n} stored 16-bit elements of this type from src[srcOff…] into dst[dstOff…]. */
    public void halfToFloat(short[] src, int srcOff, float[] dst, int dstOff, int n) {
        switch (this) {
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOff + i] = Float.intBitsToFloat((src[srcOff + i] & 0xffff) << 16);
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOff + i] = Float.float16ToFloat(src[srcOff + i]);
                }
            }
            case F32 -> throw new IllegalStateException("F32 is not a 16-bit type");
        }
    }

    /** Narrows a float32 to this 16-bit type with round-to-nearest-even, as torch's {@code .to(dtype)}. */
    public short floatToHalf(float value) {
        return switch (this) {
            case BF16 -> floatToBf16(value);
            case F16 -> Float.floatToFloat16(value);
            case F32 -> throw new IllegalStateException("F32 is not a 16-bit type");
        };
    }

    private static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x0040); // keep NaN a quiet NaN after truncation
        }
        int roundingBias = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }
}
