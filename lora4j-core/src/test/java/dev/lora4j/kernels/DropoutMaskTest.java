package dev.lora4j.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DropoutMaskTest {
    @Test
    void hashMatchesAnIndependentImplementation() {
        // Values from a Python transcription of MurmurHash3's fmix32 in two keyed rounds (unsigned 32-bit arithmetic).
        assertEquals(0, DropoutMask.bits(0, 0L));
        assertEquals(11157083, DropoutMask.bits(1, 0L));
        assertEquals(7273064, DropoutMask.bits(7, 0x123456789ABCDEF0L));
        assertEquals(13886775, DropoutMask.bits(1000003, -5L));
    }

    @Test
    void vectorLanesThreadsAndTailAgreeWithTheScalarHash() {
        int n = 3 * (1 << 14) + 13;   // several parallel chunks and a tail that is not a whole vector
        long key = 0x5DEECE66DL;
        float p = 0.3f, keep = 1f / 0.7f;
        float[] mask = new float[n];
        DropoutMask.fill(mask, n, key, p, keep);
        int threshold = DropoutMask.threshold(p);
        for (int i = 0; i < n; i++) {
            assertEquals(DropoutMask.bits(i, key) < threshold ? 0f : keep, mask[i], "element " + i);
        }
        float[] again = new float[n];
        DropoutMask.fill(again, n, key, p, keep);
        assertArrayEquals(mask, again);
    }

    @Test
    void applyMultipliesByTheMaskItWouldFill() {
        int n = 2 * (1 << 14) + 5;
        long key = -77L;
        float p = 0.25f, keep = 1f / 0.75f;
        float[] mask = new float[n], x = new float[n + 3], out = new float[n + 1];
        java.util.Random r = new java.util.Random(3);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        DropoutMask.fill(mask, n, key, p, keep);
        DropoutMask.apply(out, 1, x, 3, n, key, p, keep);
        for (int i = 0; i < n; i++) {
            assertEquals(x[3 + i] * mask[i], out[1 + i], "element " + i);
        }
        assertEquals(0f, out[0]);
    }

    @Test
    void dropsAtRatePIndependentlyAcrossElementsAndKeys() {
        int n = 1 << 20;
        float p = 0.1f;
        float[] a = new float[n], b = new float[n];
        DropoutMask.fill(a, n, 1L, p, 1f);
        DropoutMask.fill(b, n, 2L, p, 1f);
        long dropped = 0, neighbours = 0, sameIndexOtherKey = 0;
        for (int i = 0; i < n; i++) {
            boolean d = a[i] == 0f;
            dropped += d ? 1 : 0;
            neighbours += d && i + 1 < n && a[i + 1] == 0f ? 1 : 0;
            sameIndexOtherKey += d && b[i] == 0f ? 1 : 0;
        }
        // Binomial counts: expected n·p = 104,858 (σ ≈ 307) and n·p² = 10,486 (σ ≈ 101); allow six σ.
        assertTrue(Math.abs(dropped - n * 0.1) < 6 * 307, "dropped " + dropped);
        assertTrue(Math.abs(neighbours - n * 0.01) < 6 * 101, "adjacent pairs both dropped " + neighbours);
        assertTrue(Math.abs(sameIndexOtherKey - n * 0.01) < 6 * 101, "dropped under both keys " + sameIndexOtherKey);
    }

    @Test
    void rejectsBadProbabilityAndShortMask() {
        assertThrows(IllegalArgumentException.class, () -> DropoutMask.fill(new float[4], 4, 0L, 1f, 1f));
        assertThrows(IllegalArgumentException.class, () -> DropoutMask.fill(new float[3], 4, 0L, 0.5f, 2f));
        assertThrows(IllegalArgumentException.class,
                () -> DropoutMask.apply(new float[4], 0, new float[4], 1, 4, 0L, 0.5f, 2f));
    }
}
