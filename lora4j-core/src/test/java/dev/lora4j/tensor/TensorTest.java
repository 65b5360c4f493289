package dev.lora4j.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorTest {
    @Test
    void deferredZerosAllocateOnFirstUseAndMappedValuesReadInPlaceUntilWritten() {
        Tensor lazy = Tensor.deferringZeros(() -> Tensor.zeros(2, 3));
        Storage.Mapped zeros = (Storage.Mapped) lazy.storage();
        assertEquals(0f, lazy.get(1, 2));
        assertFalse(zeros.isCopied());
        lazy.data()[5] = 7f;                                  // the first array request allocates it
        assertEquals(7f, lazy.get(1, 2));
        assertTrue(zeros.isCopied());
        assertEquals(Storage.F32.class, Tensor.zeros(1).storage().getClass());   // outside: a plain array

        java.lang.foreign.MemorySegment bytes = java.lang.foreign.Arena.ofAuto().allocate(16);
        for (int i = 0; i < 4; i++) {
            bytes.setAtIndex(Storage.Mapped.LAYOUT, i, i + 0.5f);
        }
        Tensor mapped = Tensor.mapped(bytes, 2, 2);
        assertArrayEquals(new float[] {0.5f, 1.5f, 2.5f, 3.5f}, mapped.toFloatArray());
        assertArrayEquals(new float[] {0.5f, 1.5f, 2.5f, 3.5f}, Tensor.zeros(2, 2).copyFrom(mapped).toFloatArray());
        mapped.data()[0] = -1f;                                // writes go to a copy, never to the mapping
        assertEquals(-1f, mapped.get(0, 0));
        assertEquals(0.5f, bytes.getAtIndex(Storage.Mapped.LAYOUT, 0));
        assertThrows(IllegalArgumentException.class, () -> Tensor.mapped(bytes, 3, 2));
    }

    private static Tensor arange(int... dims) {
        Tensor t = Tensor.zeros(dims);
        for (int i = 0; i < t.numel(); i++) {
            t.data()[i] = i;
        }
        return t;
    }

    @Test
    void viewsShareStorage() {
        Tensor t = arange(2, 3, 4);
        Tensor narrow = t.narrow(2, 1, 2);
        assertEquals(Shape.of(2, 3, 2), narrow.shape());
        assertFalse(narrow.isContiguous());
        assertEquals(t.get(1, 2, 2), narrow.get(1, 2, 1));
        narrow.set(-1f, 0, 0, 0);
        assertEquals(-1f, t.get(0, 0, 1));
        Tensor tr = t.view(6, 4).transpose(0, 1);
        assertEquals(Shape.of(4, 6), tr.shape());
        assertEquals(t.get(1, 0, 3), tr.get(3, 3));
        assertArrayEquals(new float[] {-1, 5, 9}, t.view(6, 4).narrow(0, 0, 3).transpose(0, 1).narrow(0, 1, 1).toFloatArray());
    }

    @Test
    void contiguousCopiesOnlyWhenNeeded() {
        Tensor t = arange(3, 4);
        assertTrue(t.contiguous() == t);
        Tensor tr = t.transpose(0, 1).contiguous();
        assertTrue(tr.isContiguous());
        assertArrayEquals(new float[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, tr.toFloatArray());
    }

    @Test
    void viewInfersOneDimensionAndRejectsMismatch() {
        assertEquals(Shape.of(4, 6), arange(2, 3, 4).view(-1, 6).shape());
        var e = assertThrows(IllegalArgumentException.class, () -> arange(2, 3).view(4, 2));
        assertEquals("view: shape (2, 3) has 6 elements, (4, 2) has 8", e.getMessage());
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 lies exactly between two bf16 values: ties go to the even mantissa (1.0).
        assertEquals((short) 0x3F80, DType.BF16.floatToHalf(Float.intBitsToFloat(0x3F808000)));
        // 1 + 3·2^-8 is also a tie, between odd 0x3F81 and even 0x3F82: it goes up.
        assertEquals((short) 0x3F82, DType.BF16.floatToHalf(Float.intBitsToFloat(0x3F818000)));
        assertEquals((short) 0x3F81, DType.BF16.floatToHalf(Float.intBitsToFloat(0x3F80C001)));
        assertTrue(Float.isNaN(DType.BF16.halfToFloat(DType.BF16.floatToHalf(Float.NaN))));
        assertEquals(Float.POSITIVE_INFINITY, DType.BF16.halfToFloat(DType.BF16.floatToHalf(Float.POSITIVE_INFINITY)));
    }

    @Test
    void halfStorageRoundTripsThroughF32() {
        Tensor t = Tensor.of(new float[] {0.1f, -2.5f, 65504f, 1e-3f}, 2, 2);
        for (DType d : new DType[] {DType.BF16, DType.F16}) {
            Tensor h = t.to(d);
            assertEquals(d, h.dtype());
            assertArrayEquals(h.toFloatArray(), h.toF32().to(d).toFloatArray());
            for (int i = 0; i < 4; i++) {
                float x = t.toFloatArray()[i];
                assertEquals(x, h.toFloatArray()[i], Math.abs(x) * (d == DType.BF16 ? 1f / 256 : 1f / 2048));
            }
        }
    }

    @Test
    void setSumMatchesCopyThenAddOverSeveralChunksAndWithItselfAsAnOperand() {
        int n = 3 * dev.lora4j.kernels.Parallel.RANGE_CHUNK + 5;   // parallel chunks and a scalar tail
        java.util.Random rng = new java.util.Random(3);
        Tensor a = Tensor.zeros(n), b = Tensor.zeros(n);
        for (int i = 0; i < n; i++) {
            a.data()[i] = (float) rng.nextGaussian();
            b.data()[i] = (float) rng.nextGaussian();
        }
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) {
            expected[i] = a.data()[i] + b.data()[i];
        }
        assertArrayEquals(expected, Tensor.zeros(n).setSum(a, b).toFloatArray());
        assertArrayEquals(Tensor.zeros(n).copyFrom(a).addInPlace(b).toFloatArray(), Tensor.zeros(n).setSum(a, b).toFloatArray());
        assertArrayEquals(expected, a.setSum(a, b).toFloatArray());
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, 3).setSum(arange(2, 3), arange(3, 2)));
        assertTrue(e.getMessage().startsWith("setSum: shapes differ"), e.getMessage());
    }

    @Test
    void errorsNameShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> arange(2, 3).addInPlace(arange(3, 2)));
        assertEquals("addInPlace: shapes differ: (2, 3) and (3, 2)", e.getMessage());
        var oob = assertThrows(IndexOutOfBoundsException.class, () -> arange(2, 3).narrow(1, 2, 2));
        assertEquals("narrow: range [2, 4) is outside dimension 1 of size 3 in shape (2, 3)", oob.getMessage());
    }
}
