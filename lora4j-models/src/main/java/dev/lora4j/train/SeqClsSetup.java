package dev.lora4j.train;

import dev.lora4j.models.AutoModel;
import dev.lora4j.models.bert.SequenceClassifier;
import dev.lora4j.tokenizer.RobertaTokenizer;
import dev.lora4j.tokenizer.SequenceTokenizer;
import dev.lora4j.tokenizer.WordPieceTokenizer;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A sequence classifier and its tokenizer, from a model directory or the built-in MiniLM.
 *
 * @param model     the classifier
 * @param tokenizer its tokenizer (WordPiece for BERT and MiniLM, byte-level BPE for RoBERTa)
 * @param loaded    what was loaded and from where
 */
public record SeqClsSetup(SequenceClassifier model, SequenceTokenizer tokenizer, AutoModel.Loaded loaded) {
    /** Loads {@code where} (a model directory or the built-in MiniLM) with its tokenizer. */
    public static SeqClsSetup load(String where, int numLabels, long seed) throws IOException {
        AutoModel.Loaded loaded = AutoModel.load(where, numLabels, seed);
        if (!(loaded.model() instanceof SequenceClassifier model)) {
            throw new IllegalArgumentException("--model: " + where + " is a " + loaded.modelType()
                    + " model; --task seq-cls needs a BERT-family model (bert, roberta)");
        }
        SequenceTokenizer tokenizer = where.equals(AutoModel.BUILTIN_MINILM)
                ? WordPieceTokenizer.fromTokenizerJson(new ByteArrayInputStream(AutoModel.resourceBytes(AutoModel.MINILM_TOKENIZER)),
                AutoModel.MINILM_TOKENIZER.substring(1))
                : model.encoder().config().positionsFromPadding() ? RobertaTokenizer.load(Path.of(where))
                : WordPieceTokenizer.load(Path.of(where));
        return new SeqClsSetup(model, tokenizer, loaded);
    }
}
