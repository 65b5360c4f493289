package dev.lora4j.models.gpt2;

import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class KvCacheTest {
    // Rows b hold keys 100·b + position·10 + channel (values the negatives), width 2.
    private static float[] rows(int batch, int t, int from, int[] origin) {
        float[] out = new float[batch * t * 2];
        for (int b = 0; b < batch; b++) {
            for (int p = 0; p < t; p++) {
                for (int c = 0; c < 2; c++) {
                    out[(b * t + p) * 2 + c] = 100 * origin[b] + (from + p) * 10 + c;
                }
            }
        }
        return out;
    }

    private static float[] negate(float[] x) {
        float[] y = x.clone();
        for (int i = 0; i < y.length; i++) {
            y[i] = -y[i];
        }
        return y;
    }

    @Test
    void reorderPicksRowsAgainAndAgainWithoutMixingThem() {
        KvCache cache = new KvCache(1, 3, 4, 2);
        KvCache.Layer layer = cache.layer(0);
        float[] k = rows(3, 2, 0, new int[]{0, 1, 2});
        layer.append(Tensor.of(k, 3, 2, 2), Tensor.of(negate(k), 3, 2, 2));
        cache.advance(2);
        cache.reorder(new int[]{2, 0, 2});
        float[] expected = rows(3, 2, 0, new int[]{2, 0, 2});
        assertArrayEquals(expected, layer.keys(2).contiguous().toFloatArray());
        assertArrayEquals(negate(expected), layer.values(2).contiguous().toFloatArray());

        // another step, then another reorder: the two buffers take turns, each result is the rows asked for
        float[] next = rows(3, 1, 2, new int[]{7, 8, 9});
        layer.append(Tensor.of(next, 3, 1, 2), Tensor.of(negate(next), 3, 1, 2));
        cache.advance(1);
        cache.reorder(new int[]{1, 1, 0});
        float[] got = layer.keys(3).contiguous().toFloatArray();
        float[] want = {0, 1, 10, 11, 820, 821, 0, 1, 10, 11, 820, 821, 200, 201, 210, 211, 720, 721};
        assertArrayEquals(want, got);
        assertArrayEquals(negate(want), layer.values(3).contiguous().toFloatArray());
        assertThrows(IllegalArgumentException.class, () -> cache.reorder(new int[]{0, 3, 1}));
    }
}
