package dev.lora4j.models.gpt2;

import dev.lora4j.models.HfModelDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What the gpt2-medium and gpt2-large checks share: a model from transformers' config, and decoding checked. */
final class FullSizeGpt2 {
    /** A sentence's GPT-2 ids: "The dog is a good friend. The". */
    static final int[] IDS = {464, 3290, 318, 257, 922, 1110, 13, 383};

    private FullSizeGpt2() {
    }

    /** A model initialised as transformers does, shaped by the config fixture {@code name}, copied into dir. */
    static Gpt2LmHeadModel initialised(Path dir, String name, long seed) throws IOException, URISyntaxException {
        Files.createDirectories(dir);
        Files.copy(Path.of(FullSizeGpt2.class.getResource("/fixtures/models/" + name).toURI()), dir.resolve("config.json"));
        return Gpt2LmHeadModel.initialised(HfModelDir.readConfig(dir, Gpt2Config.class), seed);
    }

    /**
     * The logits of a full forward over {@link #IDS}, after checking that decoding one token at a time through
     * the KV cache gives each position's logits (every 97th token of the vocabulary compared).
     */
    static float[] assertIncrementalDecodingMatches(Gpt2LmHeadModel model) {
        model.eval();
        int T = IDS.length;
        int V = model.transformer().config().vocabSize();
        float[] full = model.forward(IDS, 1, T).toFloatArray();
        KvCache cache = model.transformer().newCache(1, T);
        for (int t = 0; t < T; t++) {
            float[] step = model.nextTokenLogits(new int[]{IDS[t]}, 1, 1, cache).toFloatArray();
            for (int v = 0; v < V; v += 97) {
                assertEquals(full[t * V + v], step[v], 2e-3f + 1e-4f * Math.abs(full[t * V + v]), "position " + t + ", token " + v);
            }
        }
        return full;
    }
}
