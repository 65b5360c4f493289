package dev.lora4j.tokenizer;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2's byte-level BPE, as OpenAI's encoder.py and Hugging Face's GPT2Tokenizer: text is split by GPT-2's
 * pre-tokenisation pattern, each piece's UTF-8 bytes are mapped to printable characters, and merges are applied
 * by rank. Decoding inverts the byte mapping, so decode(encode(s)) == s for any string. Special tokens
 * ({@code <|endoftext|>}; RoBERTa's {@code <s> </s> <pad> <unk> <mask>}) are recognised whole in text.
 */
public final class Gpt2Tokenizer {
    /** GPT-2's end-of-text token. */
    public static final String END_OF_TEXT = "<|endoftext|>";
    /** The special tokens of GPT2Tokenizer and RobertaTokenizer, taken as special when a vocab.json has them. */
    private static final List<String> KNOWN_SPECIALS = List.of(END_OF_TEXT, "<s>", "</s>", "<pad>", "<unk>", "<mask>");
    private static final Pattern PIECES = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final Map<Character, Integer> CHAR_TO_BYTE = new HashMap<>();

    static {
        // encoder.py's bytes_to_unicode: printable bytes map to themselves, the rest to 256 + n in order.
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + n++);
            CHAR_TO_BYTE.put(BYTE_TO_CHAR[b], b);
        }
    }

    private final Map<String, Integer> encoder;
    private final String[] decoder;
    private final Map<String, Integer> mergeRanks;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();
    private final int endOfText;
    private final List<String> specials;
    private final Set<Integer> specialIds = new HashSet<>();

    private Gpt2Tokenizer(Map<String, Integer> encoder, List<String> merges, Collection<String> specialTokens) {
        this.encoder = encoder;
        int max = encoder.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        decoder = new String[max + 1];
        encoder.forEach((tok, id) -> decoder[id] = tok);
        mergeRanks = new HashMap<>();
        for (int i = 0; i < merges.size(); i++) {
            mergeRanks.put(merges.get(i), i);
        }
        Integer eot = encoder.get(END_OF_TEXT);
        endOfText = eot == null ? -1 : eot;
        // Longest first, so that a special token that contains another one wins.
        specials = specialTokens.stream().filter(encoder::containsKey).distinct()
                .sorted(Comparator.comparingInt(String::length).reversed()).toList();
        specials.forEach(t -> specialIds.add(encoder.get(t)));
    }

    private Gpt2Tokenizer(Map<String, Integer> encoder, List<String> merges) {
        this(encoder, merges, KNOWN_SPECIALS);
    }

    /** The GPT-2 vocabulary that ships with lora4j (50,257 tokens). */
    public static Gpt2Tokenizer gpt2() {
        try (InputStream vocab = Gpt2Tokenizer.class.getResourceAsStream("gpt2/vocab.json");
             InputStream merges = Gpt2Tokenizer.class.getResourceAsStream("gpt2/merges.txt")) {
            return new Gpt2Tokenizer(readVocab(vocab.readAllBytes()), readMerges(new String(merges.readAllBytes(), StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Loads a tokenizer from a model directory: tokenizer.json, else vocab.json with merges.txt.
     *
     * @throws IOException if neither is present or a file is malformed (the message names the file)
     */
    public static Gpt2Tokenizer load(Path dir) throws IOException {
        Path json = dir.resolve("tokenizer.json");
        if (Files.isRegularFile(json)) {
            JsonNode root = new ObjectMapper().readTree(json.toFile());
            JsonNode model = root.path("model");
            if (!"BPE".equals(model.path("type").asText("BPE")) || !model.has("vocab") || !model.has("merges")) {
                throw new IOException(json + ": expected a BPE model with vocab and merges");
            }
            Map<String, Integer> vocab = new ObjectMapper().convertValue(model.get("vocab"), new TypeReference<>() { });
            List<String> merges = new ArrayList<>();
            for (JsonNode m : model.get("merges")) {
                merges.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
            }
            List<String> specials = new ArrayList<>(KNOWN_SPECIALS);
            for (JsonNode t : root.path("added_tokens")) {
                if (t.path("special").asBoolean(false)) {
                    specials.add(t.path("content").asText());
                    vocab.putIfAbsent(t.path("content").asText(), t.path("id").asInt());
                }
            }
            return new Gpt2Tokenizer(vocab, merges, specials);
        }
        Path vocab = dir.resolve("vocab.json");
        Path merges = dir.resolve("merges.txt");
        if (!Files.isRegularFile(vocab) || !Files.isRegularFile(merges)) {
            throw new IOException(dir + ": no tokenizer.json, and no vocab.json with merges.txt");
        }
        return new Gpt2Tokenizer(readVocab(Files.readAllBytes(vocab)), readMerges(Files.readString(merges)));
    }

    private static Map<String, Integer> readVocab(byte[] json) throws IOException {
        return new ObjectMapper().readValue(json, new TypeReference<>() { });
    }

    private static List<String> readMerges(String text) {
        List<String> merges = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (!line.isBlank() && !line.startsWith("#version")) {
                merges.add(line.strip());
            }
        }
        return merges;
    }

    /** Number of tokens. */
    public int vocabSize() {
        return decoder.length;
    }

    /** The id of {@code <|endoftext|>}, or -1 if the vocabulary has none. */
    public int endOfTextId() {
        return endOfText;
    }

    /** The id of {@code token}, or -1 if the vocabulary has none. */
    public int tokenId(String token) {
        return encoder.getOrDefault(token, -1);
    }

    /** Whether {@code id} is a special token (such as {@code <|endoftext|>} or {@code <s>}). */
    public boolean isSpecial(int id) {
        return specialIds.contains(id);
    }

    /** Token ids for {@code text}; occurrences of a special token such as {@code <|endoftext|>} become that token. */
    public int[] encode(String text) {
        List<Integer> out = new ArrayList<>();
        int start = 0;
        while (start <= text.length()) {
            int special = -1;
            String which = null;
            for (String t : specials) {
                int at = text.indexOf(t, start);
                if (at >= 0 && (special < 0 || at < special)) {
                    special = at;
                    which = t;
                }
            }
            int end = special < 0 ? text.length() : special;
            encodeOrdinary(text.substring(start, end), out);
            if (special < 0) {
                break;
            }
            out.add(encoder.get(which));
            start = special + which.length();
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private void encodeOrdinary(String text, List<Integer> out) {
        Matcher m = PIECES.matcher(text);
        while (m.find()) {
            for (int id : cache.computeIfAbsent(m.group(), this::bpe)) {
                out.add(id);
            }
        }
    }

    /** Applies merges, lowest rank first, to the byte characters of one piece. */
    private int[] bpe(String piece) {
        byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
        List<String> word = new ArrayList<>(bytes.length);
        for (byte b : bytes) {
            word.add(String.valueOf(BYTE_TO_CHAR[b & 0xff]));
        }
        while (word.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            int best = -1;
            for (int i = 0; i + 1 < word.size(); i++) {
                Integer rank = mergeRanks.get(word.get(i) + " " + word.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            // Merge every occurrence of the best pair, left to right, as encoder.py does.
            String first = word.get(best);
            String second = word.get(best + 1);
            List<String> merged = new ArrayList<>(word.size());
            for (int i = 0; i < word.size(); i++) {
                if (i + 1 < word.size() && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i++;
                } else {
                    merged.add(word.get(i));
                }
            }
            word = merged;
        }
        int[] ids = new int[word.size()];
        for (int i = 0; i < ids.length; i++) {
            Integer id = encoder.get(word.get(i));
            if (id == null) {
                throw new IllegalStateException("GPT-2 tokenizer: no id for token '" + word.get(i) + "'; is the vocabulary complete?");
            }
            ids[i] = id;
        }
        return ids;
    }

    /**
     * The text of {@code ids}; bytes that do not form valid UTF-8 become U+FFFD, as Hugging Face's
     * {@code errors="replace"}.
     *
     * @throws IllegalArgumentException for an id outside the vocabulary
     */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /**
     * The text of {@code ids}, leaving special tokens out if {@code skipSpecialTokens} (as Hugging Face's
     * {@code skip_special_tokens}).
     *
     * @throws IllegalArgumentException for an id outside the vocabulary
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            if (id < 0 || id >= decoder.length || decoder[id] == null) {
                throw new IllegalArgumentException("GPT-2 tokenizer: id " + id + " is outside the vocabulary of " + decoder.length);
            }
            String token = decoder[id];
            if (specialIds.contains(id)) {
                if (skipSpecialTokens) {
                    continue;
                }
                bytes.writeBytes(token.getBytes(StandardCharsets.UTF_8));
                continue;
            }
            for (int i = 0; i < token.length(); i++) {
                bytes.write(CHAR_TO_BYTE.get(token.charAt(i)));
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
