package dev.lora4j.models.gpt2;

import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Embedding;
import dev.lora4j.nn.LayerNorm;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

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
        h = registerModule("h", new Blocks(config, seed + 100));
        lnF = registerModule("ln_f", new LayerNorm(config.nEmbd(), config.layerNormEpsilon()));
    }

    /** The blocks, named "0" … "n_layer − 1" as in torch.nn.ModuleList. */
    private static final class Blocks extends Module {
        private final int n;

        Blocks(Gpt2Config config, long seed) {
            n = config.nLayer();
            for (int i = 0; i < n; i++) {
                registerModule(Integer.toString(i), new Gpt2Block(config, seed + 1000L * i));
            }
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor y = x;
            for (int i = 0; i < n; i++) {
                y = child(Integer.toString(i)).forward(y);
            }
            return y;
        }

        @Override
        public Tensor backward(Tensor dout) {
            Tensor d = dout;
            for (int i = n - 1; i >= 0; i--) {
                d = child(Integer.toString(i)).backward(d);
            }
            return d;
        }

        @Override
        public String typeName() {
            return "ModuleList";
        }
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
        if (positions.length != B * T) {
            positions = new int[B * T];
            for (int i = 0; i < positions.length; i++) {
                positions[i] = i % T;
            }
        }
        x = Tensor.reuse(x, Shape.of(B, T, config.nEmbd())).copyFrom(wte.forward(ids, B, T))
                .addInPlace(wpe.forward(positions, B, T));
        return lnF.forward(h.forward(drop.forward(x)));
    }

    /** Adds gradients into every trainable parameter given d(loss)/d(hidden states). Ids have no gradient. */
    @Override
    public Tensor backward(Tensor dout) {
        Tensor dx = drop.backward(h.backward(lnF.backward(dout)));
        wte.backward(dx);
        wpe.backward(dx);
        return null;
    }
}
