package dev.lora4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * BERT's tokenizer as Hugging Face's BertTokenizer: the basic tokenizer (clean control characters, put spaces
 * around CJK ideographs, lower-case and strip accents, split on whitespace and punctuation), then greedy
 * longest-match WordPiece with "##" continuations, then [CLS] … [SEP] (… [SEP] for pairs) with token type ids,
 * truncation (longest first) and padding.
 */
public final class WordPieceTokenizer implements SequenceTokenizer {
    private static final int MAX_CHARS_PER_WORD = 100;
    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    private final boolean lowerCase;
    private final int unk;
    private final int cls;
    private final int sep;
    private final int pad;

    private WordPieceTokenizer(List<String> tokens, boolean lowerCase) {
        vocab = new HashMap<>();
        idToToken = tokens.toArray(String[]::new);
        for (int i = 0; i < idToToken.length; i++) {
            vocab.putIfAbsent(idToToken[i], i);
        }
        this.lowerCase = lowerCase;
        unk = require("[UNK]");
        cls = require("[CLS]");
        sep = require("[SEP]");
        pad = require("[PAD]");
    }

    private int require(String token) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new IllegalArgumentException("WordPiece vocabulary has no " + token + " token");
        }
        return id;
    }

    /** Reads a Hugging Face tokenizer.json with a WordPiece model (lower-casing from its BertNormalizer). */
    public static WordPieceTokenizer fromTokenizerJson(InputStream json, String source) throws IOException {
        JsonNode root = new ObjectMapper().readTree(json);
        JsonNode model = root.path("model");
        if (!"WordPiece".equals(model.path("type").asText())) {
            throw new IOException(source + ": model.type is '" + model.path("type").asText() + "', expected WordPiece");
        }
        String[] tokens = new String[model.get("vocab").size()];
        model.get("vocab").fields().forEachRemaining(e -> tokens[e.getValue().asInt()] = e.getKey());
        return new WordPieceTokenizer(List.of(tokens), root.path("normalizer").path("lowercase").asBoolean(true));
    }

    /**
     * Loads from a model directory: tokenizer.json, else vocab.txt (one token per line; lower-casing assumed,
     * as for uncased BERT and MiniLM).
     *
     * @throws IOException if neither file is present or the file is malformed
     */
    public static WordPieceTokenizer load(Path dir) throws IOException {
        Path json = dir.resolve("tokenizer.json");
        if (Files.isRegularFile(json)) {
            try (InputStream in = Files.newInputStream(json)) {
                return fromTokenizerJson(in, json.toString());
            }
        }
        Path vocab = dir.resolve("vocab.txt");
        if (!Files.isRegularFile(vocab)) {
            throw new IOException(dir + ": no tokenizer.json or vocab.txt");
        }
        return new WordPieceTokenizer(Files.readAllLines(vocab, StandardCharsets.UTF_8).stream().map(String::strip).toList(), true);
    }

    @Override
    public int vocabSize() {
        return idToToken.length;
    }

    /** The id of [PAD]. */
    @Override
    public int padId() {
        return pad;
    }

    /** The WordPiece tokens of {@code text}, without special tokens. */
    public List<String> tokenize(String text) {
        List<String> out = new ArrayList<>();
        for (String word : basicTokens(text)) {
            wordPiece(word, out);
        }
        return out;
    }

    /** Ids of [CLS] text [SEP], untruncated. */
    public int[] encode(String text) {
        return encodePair(text, null, Integer.MAX_VALUE).ids();
    }

    /** [CLS] a [SEP] or [CLS] a [SEP] b [SEP], with token type 1 on b and its [SEP]. */
    @Override
    public Batch encodePair(String a, String b, int maxLength) {
        List<Integer> x = new ArrayList<>(ids(a));
        List<Integer> y = b == null ? new ArrayList<>() : new ArrayList<>(ids(b));
        int specials = b == null ? 2 : 3;
        SequenceTokenizer.truncateLongestFirst(x, y, specials, maxLength);
        int n = x.size() + y.size() + specials;
        int[] ids = new int[n];
        int[] types = new int[n];
        int i = 0;
        ids[i++] = cls;
        for (int id : x) {
            ids[i++] = id;
        }
        ids[i++] = sep;
        if (b != null) {
            for (int id : y) {
                types[i] = 1;
                ids[i++] = id;
            }
            types[i] = 1;
            ids[i++] = sep;
        }
        float[] mask = new float[n];
        java.util.Arrays.fill(mask, 1f);
        return new Batch(ids, types, mask, 1, n);
    }

    /** Text of ids without special tokens, "##" pieces joined to the word before. */
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            if (id == cls || id == sep || id == pad) {
                continue;
            }
            String tok = idToToken[id];
            if (tok.startsWith("##")) {
                sb.append(tok, 2, tok.length());
            } else {
                if (!sb.isEmpty()) {
                    sb.append(' ');
                }
                sb.append(tok);
            }
        }
        return sb.toString();
    }

    private List<Integer> ids(String text) {
        List<Integer> out = new ArrayList<>();
        for (String t : tokenize(text)) {
            out.add(vocab.get(t));
        }
        return out;
    }

    /** BERT's BasicTokenizer. */
    private List<String> basicTokens(String text) {
        StringBuilder cleaned = new StringBuilder();
        text.codePoints().forEach(cp -> {
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
                return;
            }
            if (isWhitespace(cp)) {
                cleaned.append(' ');
            } else if (isCjk(cp)) {
                cleaned.append(' ').appendCodePoint(cp).append(' ');
            } else {
                cleaned.appendCodePoint(cp);
            }
        });
        List<String> out = new ArrayList<>();
        for (String word : cleaned.toString().strip().split(" +")) {
            if (word.isEmpty()) {
                continue;
            }
            if (lowerCase) {
                word = stripAccents(word.toLowerCase(java.util.Locale.ROOT));
            }
            StringBuilder current = new StringBuilder();
            for (int i = 0; i < word.length(); ) {
                int cp = word.codePointAt(i);
                i += Character.charCount(cp);
                if (isPunctuation(cp)) {
                    if (!current.isEmpty()) {
                        out.add(current.toString());
                        current.setLength(0);
                    }
                    out.add(new String(Character.toChars(cp)));
                } else {
                    current.appendCodePoint(cp);
                }
            }
            if (!current.isEmpty()) {
                out.add(current.toString());
            }
        }
        return out;
    }

    /** Greedy longest-match-first WordPiece; a word that cannot be covered becomes [UNK]. */
    private void wordPiece(String word, List<String> out) {
        if (word.codePointCount(0, word.length()) > MAX_CHARS_PER_WORD) {
            out.add(idToToken[unk]);
            return;
        }
        List<String> pieces = new ArrayList<>();
        int start = 0;
        while (start < word.length()) {
            int end = word.length();
            String found = null;
            while (start < end) {
                String sub = (start > 0 ? "##" : "") + word.substring(start, end);
                if (vocab.containsKey(sub)) {
                    found = sub;
                    break;
                }
                end = word.offsetByCodePoints(end, -1);
            }
            if (found == null) {
                out.add(idToToken[unk]);
                return;
            }
            pieces.add(found);
            start = end;
        }
        out.addAll(pieces);
    }

    private static String stripAccents(String s) {
        StringBuilder sb = new StringBuilder();
        Normalizer.normalize(s, Normalizer.Form.NFD).codePoints().forEach(cp -> {
            if (Character.getType(cp) != Character.NON_SPACING_MARK) {
                sb.appendCodePoint(cp);
            }
        });
        return sb.toString();
    }

    private static boolean isWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    private static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') {
            return false;
        }
        int t = Character.getType(cp);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.PRIVATE_USE || t == Character.SURROGATE
                || t == Character.UNASSIGNED;
    }

    private static boolean isPunctuation(int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
            return true;
        }
        int t = Character.getType(cp);
        return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION || t == Character.START_PUNCTUATION
                || t == Character.END_PUNCTUATION || t == Character.INITIAL_QUOTE_PUNCTUATION
                || t == Character.FINAL_QUOTE_PUNCTUATION || t == Character.OTHER_PUNCTUATION;
    }

    private static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
