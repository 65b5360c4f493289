package dev.lora4j.kernels;

import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Dropout masks from a counter-based generator: element i's random bits are a hash of (i, key), as PyTorch's
 * Philox draws them from (offset, seed), rather than the next value of a sequential generator. A mask is then
 * the same whichever thread computes which part, so it is filled eight lanes at a time on all threads, and it
 * is reproducible from the key alone.
 *
 * <p>The hash is two rounds of MurmurHash3's 32-bit finalizer, each keyed by one half of the 64-bit key; an
 * element is dropped when the top 24 bits of its hash fall below p·2²⁴.
 */
public final class DropoutMask {
    private static final VectorSpecies<Integer> S = IntVector.SPECIES_PREFERRED;
    private static final int GOLDEN = 0x9E3779B9;

    private DropoutMask() {
    }

    /**
     * mask[i] = 0 with probability p, else {@code keep}, for i in [0, n), from the hash of (i, key).
     *
     * @throws IllegalArgumentException if p is outside [0, 1) or the mask is shorter than n
     */
    public static void fill(float[] mask, int n, long key, float p, float keep) {
        if (!(p >= 0f && p < 1f) || mask.length < n) {
            throw new IllegalArgumentException("DropoutMask.fill: need 0 <= p < 1 and a mask of at least " + n
                    + " elements, got p=" + p + " and " + mask.length);
        }
        int k0 = (int) key, k1 = (int) (key >>> 32);
        int threshold = threshold(p);
        Parallel.forRanges(n, (from, to) -> {
            IntVector lanes = IntVector.zero(S).addIndex(1);
            int i = from;
            for (int end = from + S.loopBound(to - from); i < end; i += S.length()) {
                IntVector h = lanes.add(i).mul(GOLDEN).lanewise(VectorOperators.XOR, k0);
                h = fmix(h).add(k1);
                h = fmix(h).lanewise(VectorOperators.LSHR, 8);
                VectorMask<Integer> dropped = h.compare(VectorOperators.LT, threshold);
                IntVector.broadcast(S, Float.floatToRawIntBits(keep)).blend(0, dropped)
                        .reinterpretAsFloats().intoArray(mask, i);
            }
            for (; i < to; i++) {
                mask[i] = bits(i, key) < threshold ? 0f : keep;
            }
        });
    }

    /** The 24 random bits of element i under {@code key}: the scalar twin of the vector loop in {@link #fill}. */
    static int bits(int i, long key) {
        int h = fmix((i * GOLDEN) ^ (int) key) + (int) (key >>> 32);
        return fmix(h) >>> 8;
    }

    /** The drop threshold on 24 random bits: p·2²⁴ rounded. */
    static int threshold(float p) {
        return (int) Math.round(p * (double) (1 << 24));
    }

    private static int fmix(int h) {
        h ^= h >>> 16;
        h *= 0x85EBCA6B;
        h ^= h >>> 13;
        h *= 0xC2B2AE35;
        return h ^ (h >>> 16);
    }

    private static IntVector fmix(IntVector h) {
        h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 16)).mul(0x85EBCA6B);
        h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 13)).mul(0xC2B2AE35);
        return h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 16));
    }
}
