package dev.lora4j.generate;

import dev.lora4j.models.gpt2.Gpt2LmHeadModel;
import dev.lora4j.models.gpt2.KvCache;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** KV-cached decoding and search on the two-layer GPT-2 fixture, against full forwards and brute force. */
class GeneratorTest {
    private static Gpt2LmHeadModel model() throws Exception {
        Gpt2LmHeadModel m = Gpt2LmHeadModel.load(Path.of(GeneratorTest.class.getResource("/fixtures/models/gpt2-tiny").toURI()));
        m.eval();
        return m;
    }

    private static float[] lastLogits(Gpt2LmHeadModel m, int[] seq) {
        Tensor logits = m.forward(seq, 1, seq.length);
        int V = logits.dim(2);
        return Arrays.copyOfRange(logits.toFloatArray(), (seq.length - 1) * V, seq.length * V);
    }

    @Test
    void cachedStepsGiveTheLogitsOfAFullForward() throws Exception {
        Gpt2LmHeadModel m = model();
        int[] seq = {3, 17, 42, 8, 8, 60, 1, 29};
        KvCache cache = m.transformer().newCache(1, 16);
        assertClose(Tensor.of(lastLogits(m, Arrays.copyOf(seq, 3)), 1, 61), m.nextTokenLogits(Arrays.copyOf(seq, 3), 1, 3, cache), 1e-5f, 1e-5f);
        for (int t = 3; t < seq.length; t++) {
            Tensor cached = m.nextTokenLogits(new int[]{seq[t]}, 1, 1, cache);
            assertClose(Tensor.of(lastLogits(m, Arrays.copyOf(seq, t + 1)), 1, 61), cached, 1e-5f, 1e-5f);
        }
        assertEquals(seq.length, cache.length());
    }

    @Test
    void greedyIsTheArgmaxOfFullForwards() throws Exception {
        Gpt2LmHeadModel m = model();
        int[] prompt = {5, 9, 33};
        int[] out = new Generator(m).generate(prompt, DecodingOptions.greedy(6, -1));
        List<Integer> seq = new ArrayList<>(List.of(5, 9, 33));
        for (int i = 0; i < 6; i++) {
            float[] l = lastLogits(m, seq.stream().mapToInt(Integer::intValue).toArray());
            int best = 0;
            for (int v = 1; v < l.length; v++) {
                best = l[v] > l[best] ? v : best;
            }
            assertEquals(best, out[i], "token " + i);
            seq.add(best);
        }
    }

    @Test
    void beamSearchWithEnoughBeamsFindsTheBestTwoTokenContinuation() throws Exception {
        Gpt2LmHeadModel m = model();
        int[] prompt = {7, 2};
        // 61 beams over 2 steps keep every first token, so the best pair by total log-probability is found
        int[] out = new Generator(m).generate(prompt, new DecodingOptions(2, 61, 1.0, 0, 1.0, -1));
        double best = Double.NEGATIVE_INFINITY;
        int[] arg = null;
        float[] first = lastLogits(m, prompt);
        double lse1 = logSumExp(first);
        for (int a = 0; a < 61; a++) {
            float[] second = lastLogits(m, new int[]{7, 2, a});
            double lse2 = logSumExp(second);
            for (int b = 0; b < 61; b++) {
                double s = first[a] - lse1 + second[b] - lse2;
                if (s > best) {
                    best = s;
                    arg = new int[]{a, b};
                }
            }
        }
        assertArrayEquals(arg, out);
    }

    @Test
    void noRepeatNgramAndRepetitionPenaltyFollowHuggingFace() {
        float[] logits = {1f, -2f, 3f, 0.5f};
        List<Integer> seq = List.of(0, 2, 1, 0, 2);
        // 3-grams seen: (0,2,1), (2,1,0), (1,0,2); the sequence ends with (0,2) so 1 is banned
        Generator.process(logits, seq, new DecodingOptions(4, 1, 1.0, 3, 2.0, -1));
        assertEquals(0.5f, logits[0]);                       // seen, positive: divided by the penalty
        assertEquals(Float.NEGATIVE_INFINITY, logits[1]);    // seen (multiplied first) and banned
        assertEquals(1.5f, logits[2]);
        assertEquals(0.5f, logits[3]);                       // never seen: unchanged
    }

    private static double logSumExp(float[] row) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        double s = 0;
        for (float v : row) {
            s += Math.exp(v - max);
        }
        return max + Math.log(s);
    }
}
