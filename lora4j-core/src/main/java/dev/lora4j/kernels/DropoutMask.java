package dev.lora4j.kernels;

import jdk.incubator.vector.FloatVector;
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
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int GOLDEN = 0x9E3779B9;

    private DropoutMask() {
    }

    /**
     * mask[i] = 0 with probability p, else {@code keep}, for i in [0, n), from the hash of (i, key).
     *
     * @throws IllegalArgumentException if p is outside [0, 1) or the mask is shorter than n
     */
    public static void fill(float[] mask, int n, long key, float p, float keep) {
        apply(mask, 0, null, 0, n, key, p, keep);
    }

    /**
     * out[outOff + i] = x[xOff + i]·mask[i] for i in [0, n), the mask as {@link #fill} makes it, without
     * storing it: dropout's forward and backward pass each make it again from the key, in the one pass over
     * their data (with x null, out receives the mask itself).
     *
     * @throws IllegalArgumentException if p is outside [0, 1) or out or x is shorter than n from its offset
     */
    public static void apply(float[] out, int outOff, float[] x, int xOff, int n, long key, float p, float keep) {
        if (!(p >= 0f && p < 1f) || outOff < 0 || out.length - outOff < n || (x != null && (xOff < 0 || x.length - xOff < n))) {
            throw new IllegalArgumentException("DropoutMask: need 0 <= p < 1 and arrays of at least " + n
                    + " elements from their offsets, got p=" + p + ", an output of " + out.length + " from " + outOff
                    + (x == null ? "" : " and an input of " + x.length + " from " + xOff));
        }
        int k0 = (int) key, k1 = (int) (key >>> 32);
        int threshold = threshold(p);
        int keepBits = Float.floatToRawIntBits(keep);
        Parallel.forRanges(n, (from, to) -> {
            IntVector lanes = IntVector.zero(S).addIndex(1);
            int i = from;
            for (int end = from + S.loopBound(to - from); i < end; i += S.length()) {
                IntVector h = lanes.add(i).mul(GOLDEN).lanewise(VectorOperators.XOR, k0);
                h = fmix(h).add(k1);
                h = fmix(h).lanewise(VectorOperators.LSHR, 8);
                VectorMask<Integer> dropped = h.compare(VectorOperators.LT, threshold);
                FloatVector m = IntVector.broadcast(S, keepBits).blend(0, dropped).reinterpretAsFloats();
                (x == null ? m : FloatVector.fromArray(F, x, xOff + i).mul(m)).intoArray(out, outOff + i);
            }
            for (; i < to; i++) {
                float m = bits(i, key) < threshold ? 0f : keep;
                out[outOff + i] = x == null ? m : x[xOff + i] * m;
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
