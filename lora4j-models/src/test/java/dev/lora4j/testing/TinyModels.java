package dev.lora4j.testing;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.models.HfModelDir;
import dev.lora4j.models.bert.BertConfig;
import dev.lora4j.models.bert.BertForSequenceClassification;
import dev.lora4j.models.bert.RobertaForSequenceClassification;
import dev.lora4j.models.gpt2.Gpt2Config;
import dev.lora4j.models.gpt2.Gpt2LmHeadModel;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Small random models written as Hugging Face directories, and matching toy data, for tests of the tools. */
public final class TinyModels {
    /** The words of the tiny BERT's vocabulary after the special tokens; "good"/"bad" decide the label. */
    public static final List<String> WORDS = List.of("good", "bad", "the", "movie", "was", "very", "plot", "and");

    private TinyModels() {
    }

    /** A 2-layer BERT classifier (hidden 16, 2 labels, hidden dropout 0.1) with a vocab.txt, in {@code dir}. */
    public static Path bert(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), """
                {"model_type": "bert", "vocab_size": 12, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
                 "intermediate_size": 32, "max_position_embeddings": 16, "type_vocab_size": 2, "hidden_act": "gelu",
                 "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.1, "num_labels": 2}""");
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]"));
        vocab.addAll(WORDS);
        Files.write(dir.resolve("vocab.txt"), vocab);
        write(dir, new BertForSequenceClassification(HfModelDir.readConfig(dir, BertConfig.class), 5), "");
        return dir;
    }

    /**
     * A 2-layer RoBERTa classifier (hidden 16, 2 labels) with a byte-level BPE vocab.json and merges.txt in
     * {@code dir}: RoBERTa's special tokens first, the 256 byte characters, then each of {@link #WORDS} with and
     * without a leading space ("Ġgood"), built by left-to-right merges.
     */
    public static Path roberta(Path dir) throws IOException {
        Files.createDirectories(dir);
        List<String> tokens = new ArrayList<>(List.of("<s>", "<pad>", "</s>", "<unk>", "<mask>"));
        // GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for 256, 257, … in order.
        for (int b = 0, n = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            tokens.add(String.valueOf((char) (printable ? b : 256 + n++)));
        }
        List<String> merges = new ArrayList<>(List.of("#version: 0.2"));
        for (String space : List.of("\u0120", "")) {                   // Ġ: the byte character of ' '
            for (String w : WORDS) {
                String word = space + w;
                for (int i = 1; i < word.length(); i++) {
                    merges.add(word.substring(0, i) + " " + word.charAt(i));
                }
                tokens.add(word);
            }
        }
        StringBuilder vocab = new StringBuilder("{");
        for (int i = 0; i < tokens.size(); i++) {
            vocab.append(i == 0 ? "" : ", ").append(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(tokens.get(i)))
                    .append(": ").append(i);
        }
        Files.writeString(dir.resolve("vocab.json"), vocab.append('}'));
        Files.write(dir.resolve("merges.txt"), merges);
        Files.writeString(dir.resolve("config.json"), """
                {"model_type": "roberta", "vocab_size": %d, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
                 "intermediate_size": 32, "max_position_embeddings": 34, "type_vocab_size": 1, "hidden_act": "gelu",
                 "layer_norm_eps": 1e-5, "hidden_dropout_prob": 0.1, "num_labels": 2, "pad_token_id": 1}""".formatted(tokens.size()));
        write(dir, new RobertaForSequenceClassification(HfModelDir.readConfig(dir, BertConfig.class), 5), "");
        return dir;
    }

    /** A GPT-2 with GPT-2's real vocabulary size but one tiny layer (n_embd 16), in {@code dir}. */
    public static Path gpt2(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\", \"vocab_size\": 50257, \"n_positions\": 64, "
                + "\"n_embd\": 16, \"n_layer\": 1, \"n_head\": 2, \"resid_pdrop\": 0.0, \"embd_pdrop\": 0.0, \"attn_pdrop\": 0.0}");
        write(dir, new Gpt2LmHeadModel(new Gpt2Config(50257, 64, 16, 1, 2, null, "gelu_new", 1e-5f, 0f, 0f, null), 2), "transformer.");
        return dir;
    }

    private static void write(Path dir, Module model, String stripPrefix) throws IOException {
        Map<String, Tensor> w = new LinkedHashMap<>();
        model.namedParameters().forEach((n, p) -> w.put(n.startsWith(stripPrefix) ? n.substring(stripPrefix.length()) : n, p.value()));
        SafeTensors.write(dir.resolve("model.safetensors"), w, Map.of("format", "pt"));
    }

    /** TSV sentiment data for the tiny BERT: three words, the middle one "good" (label 1) or "bad" (label 0). */
    public static Path sentiment(Path file, int n, long seed) throws IOException {
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder("sentence\tlabel\n");
        for (int i = 0; i < n; i++) {
            int label = r.nextInt(2);
            sb.append(String.join(" ", WORDS.get(2 + r.nextInt(6)), label == 1 ? "good" : "bad", WORDS.get(2 + r.nextInt(6))))
                    .append('\t').append(label).append('\n');
        }
        Files.writeString(file, sb.toString());
        return file;
    }
}
