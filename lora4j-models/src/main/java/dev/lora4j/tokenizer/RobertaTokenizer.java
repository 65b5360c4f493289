package dev.lora4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * RoBERTa's tokenizer: GPT-2's byte-level BPE ({@link Gpt2Tokenizer}) with RobertaProcessing's template,
 * {@code <s> a </s>} for one text and {@code <s> a </s></s> b </s>} for a pair, all token types 0 and
 * {@code <pad>} for padding, as transformers' RobertaTokenizer.
 */
public final class RobertaTokenizer implements SequenceTokenizer {
    private final Gpt2Tokenizer bpe;
    private final boolean addPrefixSpace;
    private final int cls;
    private final int sep;
    private final int pad;

    /**
     * A tokenizer over {@code bpe}, whose vocabulary must hold {@code <s>}, {@code </s>} and {@code <pad>}.
     *
     * @param addPrefixSpace whether a space is put before text that does not start with one (ByteLevel's
     *                       add_prefix_space; RoBERTa's default is false)
     * @throws IllegalArgumentException naming the missing special token
     */
    public RobertaTokenizer(Gpt2Tokenizer bpe, boolean addPrefixSpace) {
        this.bpe = bpe;
        this.addPrefixSpace = addPrefixSpace;
        cls = require(bpe, "<s>");
        sep = require(bpe, "</s>");
        pad = require(bpe, "<pad>");
    }

    private static int require(Gpt2Tokenizer bpe, String token) {
        int id = bpe.tokenId(token);
        if (id < 0) {
            throw new IllegalArgumentException("RoBERTa tokenizer: the vocabulary has no " + token + " token");
        }
        return id;
    }

    /**
     * Loads from a model directory: tokenizer.json (its ByteLevel pre-tokenizer's add_prefix_space is kept),
     * else vocab.json with merges.txt.
     *
     * @throws IOException naming the file if neither is present or one is malformed
     */
    public static RobertaTokenizer load(Path dir) throws IOException {
        Path json = dir.resolve("tokenizer.json");
        boolean prefixSpace = false;
        if (Files.isRegularFile(json)) {
            JsonNode pre = new ObjectMapper().readTree(json.toFile()).path("pre_tokenizer");
            prefixSpace = pre.path("add_prefix_space").asBoolean(false);
        }
        try {
            return new RobertaTokenizer(Gpt2Tokenizer.load(dir), prefixSpace);
        } catch (IllegalArgumentException e) {
            throw new IOException(dir + ": " + e.getMessage(), e);
        }
    }

    /** The byte-level BPE underneath. */
    public Gpt2Tokenizer bpe() {
        return bpe;
    }

    @Override
    public int vocabSize() {
        return bpe.vocabSize();
    }

    @Override
    public int padId() {
        return pad;
    }

    @Override
    public Batch encodePair(String a, String b, int maxLength) {
        List<Integer> x = ids(a);
        List<Integer> y = b == null ? new ArrayList<>() : ids(b);
        SequenceTokenizer.truncateLongestFirst(x, y, b == null ? 2 : 4, maxLength);
        List<Integer> all = new ArrayList<>(x.size() + y.size() + 4);
        all.add(cls);
        all.addAll(x);
        all.add(sep);
        if (b != null) {
            all.add(sep);
            all.addAll(y);
            all.add(sep);
        }
        int[] ids = all.stream().mapToInt(Integer::intValue).toArray();
        float[] mask = new float[ids.length];
        Arrays.fill(mask, 1f);
        return new Batch(ids, new int[ids.length], mask, 1, ids.length);
    }

    /** The text of ids without the special tokens. */
    public String decode(int[] ids) {
        String text = bpe.decode(ids, true);
        return addPrefixSpace && text.startsWith(" ") ? text.substring(1) : text;
    }

    private List<Integer> ids(String text) {
        String t = addPrefixSpace && !text.isEmpty() && !Character.isWhitespace(text.charAt(0)) ? " " + text : text;
        List<Integer> out = new ArrayList<>();
        for (int id : bpe.encode(t)) {
            out.add(id);
        }
        return out;
    }
}
