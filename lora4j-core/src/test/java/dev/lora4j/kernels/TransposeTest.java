package dev.lora4j.kernels;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The in-register 8×8 transpose against its definition, element by element, within wider rows. */
class TransposeTest {
    @ParameterizedTest(name = "src at {0}, ld {1}; dst at {2}, ld {3}")
    @CsvSource({"0, 8, 0, 8", "3, 13, 5, 16", "17, 768, 1, 9"})
    void writesEveryElementToItsMirrorAndNothingElse(int s, int ld, int d, int dld) {
        Assumptions.assumeTrue(Transpose.AVAILABLE, "no native 256-bit vectors here");
        float[] src = new float[s + 8 * ld + 8];
        for (int i = 0; i < src.length; i++) {
            src[i] = i + 0.5f;   // every value distinct, so a misplaced one shows
        }
        float[] dst = new float[d + 8 * dld + 8];
        java.util.Arrays.fill(dst, -1f);
        Transpose.block8(src, s, ld, dst, d, dld);
        float[] expected = new float[dst.length];
        java.util.Arrays.fill(expected, -1f);
        for (int i = 0; i < 8; i++) {
            for (int j = 0; j < 8; j++) {
                expected[d + j * dld + i] = src[s + i * ld + j];
            }
        }
        for (int e = 0; e < dst.length; e++) {
            assertEquals(expected[e], dst[e], "dst[" + e + "]");
        }
    }
}
