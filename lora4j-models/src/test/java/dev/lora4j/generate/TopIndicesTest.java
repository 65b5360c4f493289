package dev.lora4j.generate;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class TopIndicesTest {
    @Test
    void theBestFirstAsAStableSortOrdersThem() {
        Random rng = new Random(3);
        for (int trial = 0; trial < 200; trial++) {
            int size = 1 + rng.nextInt(300);
            double[] v = new double[size];
            for (int i = 0; i < size; i++) {                      // few distinct values: many ties; some −∞
                v[i] = rng.nextInt(8) == 0 ? Double.NEGATIVE_INFINITY : rng.nextInt(12) - 6;
            }
            int n = 1 + rng.nextInt(25);
            int[] expected = IntStream.range(0, size).boxed()
                    .sorted(Comparator.comparingDouble((Integer i) -> -v[i]))   // stable: equal values keep index order
                    .limit(n).mapToInt(Integer::intValue).toArray();
            assertArrayEquals(expected, Generator.topIndices(v, n), "trial " + trial + ": " + Arrays.toString(v));
        }
    }
}
