package dev.lora4j.train;

import dev.lora4j.models.AutoModel;
import dev.lora4j.models.HfModelDir;
import dev.lora4j.models.gpt2.Gpt2Config;
import dev.lora4j.models.gpt2.Gpt2LmHeadModel;
import dev.lora4j.tokenizer.Gpt2Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A GPT-2 language model and its tokenizer from a model directory.
 *
 * @param model     the language model
 * @param tokenizer its byte-level BPE tokenizer
 */
public record CausalLmSetup(Gpt2LmHeadModel model, Gpt2Tokenizer tokenizer) {
    /** Loads a GPT-2 directory with its tokenizer (GPT-2's own vocabulary if the directory has none). */
    public static CausalLmSetup load(String where) throws IOException {
        AutoModel.Loaded loaded = AutoModel.load(where, 2, 0);
        if (!(loaded.model() instanceof Gpt2LmHeadModel model)) {
            throw new IllegalArgumentException("--model: " + where + " is a " + loaded.modelType()
                    + " model; --task causal-lm needs a GPT-2 model");
        }
        return withTokenizer(where, model);
    }

    /**
     * A new GPT-2 to pretrain, shaped by {@code where}'s config.json and initialised as transformers does
     * (weights in the directory, if any, are not read), with the directory's tokenizer or GPT-2's own.
     */
    public static CausalLmSetup fromScratch(String where, long seed) throws IOException {
        Path config = Path.of(where).resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new IllegalArgumentException("--model: " + where + " has no config.json to shape a new model by");
        }
        String type = AutoModel.modelType(Path.of(where));
        if (!type.equals("gpt2")) {
            throw new IllegalArgumentException(config + ": model_type is '" + type + "'; --from-scratch builds gpt2 models");
        }
        return withTokenizer(where, Gpt2LmHeadModel.initialised(HfModelDir.readConfig(Path.of(where), Gpt2Config.class), seed));
    }

    private static CausalLmSetup withTokenizer(String where, Gpt2LmHeadModel model) throws IOException {
        Path dir = Path.of(where);
        boolean own = Files.exists(dir.resolve("tokenizer.json")) || Files.exists(dir.resolve("vocab.json"));
        Gpt2Tokenizer tokenizer = own ? Gpt2Tokenizer.load(dir) : Gpt2Tokenizer.gpt2();
        if (tokenizer.vocabSize() > model.transformer().config().vocabSize()) {
            throw new IllegalArgumentException("--model: the tokenizer has " + tokenizer.vocabSize() + " tokens but the model's vocabulary has "
                    + model.transformer().config().vocabSize());
        }
        return new CausalLmSetup(model, tokenizer);
    }
}
