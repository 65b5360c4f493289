package dev.lora4j.models.gpt2;

import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Sequential;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * GPT-2's transformer (Hugging Face's GPT2Model): token and position embeddings wte and wpe, dropout, blocks
 * h.0 … h.{n_layer−1}, and the final layer norm ln_f. Input ids (B, T); output hidden states (B, T, C).
 */
public final class Gpt2Model extends Module {
    private final Gpt2Config config;
    private final Embedding wte;
    private final Embedding wpe;
    private final Dropout drop;
    private final Module h;
    private final LayerNorm lnF;
    private int[] positions = new int[0];
    private Tensor x;

    /** A randomly initialised GPT-2 of the given shape (weights are usually loaded afterwards). */
    public Gpt2Model(Gpt2Config config, long seed) {
        this.config = config;
        wte = registerModule("wte", new Embedding(config.vocabSize(), config.nEmbd(), seed));
        wpe = registerModule("wpe", new Embedding(config.nPositions(), config.nEmbd(), seed + 1));
        drop = registerModule("drop", new Dropout(config.embdPdrop(), seed + 2));
        List<Gpt2Block> blocks = new ArrayList<>();
        for (int i = 0; i < config.nLayer(); i++) {
            blocks.add(new Gpt2Block(config, seed + 100 + 1000L * i));
        }
        h = registerModule("h", new Sequential("ModuleList", blocks));
        lnF = registerModule("ln_f", new LayerNorm(config.nEmbd(), config.layerNormEpsilon()));
    }

    /** The config this model was built from. */
    public Gpt2Config config() {
        return config;
    }

    /** The token embedding, which the LM head reuses. */
    public Embedding wte() {
        return wte;
    }

    /**
     * Hidden states for token ids laid out (B, T).
     *
     * @throws IllegalArgumentException if T exceeds n_positions or an id is outside the vocabulary
     */
    public Tensor forward(int[] ids, int B, int T) {
        if (T > config.nPositions()) {
            throw new IllegalArgumentException("GPT-2: sequence length " + T + " exceeds n_positions " + config.nPositions());
        }
        embed(ids, B, T, 0);
        return lnF.forward(h.forward(drop.forward(x)));
    }

    // x = wte[ids] + wpe[past + t] for ids laid out (B, T).
    private void embed(int[] ids, int B, int T, int past) {
        if (past + T > config.nPositions()) {
            throw new IllegalArgumentException("GPT-2: position " + (past + T) + " exceeds n_positions " + config.nPositions());
        }
        if (positions.length != B * T || positions[0] != past || (T > 1 && positions[1] != past + 1)
                || positions[positions.length - 1] != past + T - 1) {
            positions = new int[B * T];
            for (int i = 0; i < positions.length; i++) {
                positions[i] = past + i % T;
            }
        }
        x = Tensor.reuse(x, Shape.of(B, T, config.nEmbd())).copyFrom(lookup("wte").forward(ids, B, T))
                .addInPlace(lookup("wpe").forward(positions, B, T));
    }

    /**
     * Hidden states (B, T, C) of T new tokens per sequence, attending to the {@code cache.length()} positions
     * already in {@code cache}, which then holds these too: incremental decoding.
     *
     * @throws IllegalArgumentException if the cache is full or its batch differs from B
     */
    public Tensor forwardCached(int[] ids, int B, int T, KvCache cache) {
        if (cache.batch() != B || cache.length() + T > cache.capacity()) {
            throw new IllegalArgumentException("GPT-2: cache holds " + cache.batch() + " sequences of up to " + cache.capacity()
                    + " positions; got " + B + " sequences reaching position " + (cache.length() + T));
        }
        int past = cache.length();
        embed(ids, B, T, past);
        Tensor y = drop.forward(x);
        int i = 0;
        for (Module block : h.children().values()) {
            y = ((Gpt2Block) block).forwardCached(y, cache.layer(i++), past);
        }
        cache.advance(T);
        return lnF.forward(y);
    }

    /** A cache for B sequences of up to {@code capacity} positions (at most n_positions). */
    public KvCache newCache(int B, int capacity) {
        return new KvCache(config.nLayer(), B, Math.min(capacity, config.nPositions()), config.nEmbd());
    }

    /** Adds gradients into every trainable parameter given d(loss)/d(hidden states). Ids have no gradient. */
    @Override
    public Tensor backward(Tensor dout) {
        if (!child("wte").hasTrainableParameters() && !child("wpe").hasTrainableParameters()) {
            backwardParametersOnly(dout, h, lnF);        // below the lowest trainable block nothing needs a gradient
            return null;
        }
        Tensor dx = drop.backward(h.backward(lnF.backward(dout)));
        lookup("wte").backward(dx);
        lookup("wpe").backward(dx);
        return null;
    }
}
