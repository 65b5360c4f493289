package dev.lora4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * RoBERTa's template around GPT-2's byte-level BPE. The vocabulary is GPT-2's with RoBERTa's five special tokens
 * added after it (RoBERTa's own file renumbers them, which changes no rule), so the expected ids are GPT-2's
 * (checked against encoder.py in {@link Gpt2TokenizerTest}) inside {@code <s> … </s>}.
 */
class RobertaTokenizerTest {
    private static final Gpt2Tokenizer GPT2 = Gpt2Tokenizer.gpt2();
    private static final int BOS = 50257;
    private static final int PAD = 50258;
    private static final int EOS = 50259;
    private static final int MASK = 50261;

    @TempDir
    static Path dir;
    private static RobertaTokenizer tokenizer;

    @BeforeAll
    static void writeTokenizerJson() throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        try (InputStream vocab = Gpt2Tokenizer.class.getResourceAsStream("gpt2/vocab.json");
             InputStream merges = Gpt2Tokenizer.class.getResourceAsStream("gpt2/merges.txt")) {
            model.set("vocab", json.readTree(vocab));
            ArrayNode m = model.putArray("merges");
            new String(merges.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.startsWith("#version") && !l.isBlank()).forEach(m::add);
        }
        ArrayNode added = root.putArray("added_tokens");
        List<String> specials = List.of("<s>", "<pad>", "</s>", "<unk>", "<mask>");
        for (int i = 0; i < specials.size(); i++) {
            added.addObject().put("id", BOS + i).put("content", specials.get(i)).put("special", true);
        }
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false);
        root.putObject("post_processor").put("type", "RobertaProcessing");
        json.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        tokenizer = RobertaTokenizer.load(dir);
    }

    private static int[] wrap(int[]... parts) {
        IntStream s = IntStream.of(BOS);
        for (int i = 0; i < parts.length; i++) {
            s = IntStream.concat(s, IntStream.concat(i > 0 ? IntStream.of(EOS) : IntStream.empty(), IntStream.of(parts[i])));
            s = IntStream.concat(s, IntStream.of(EOS));
        }
        return s.toArray();
    }

    @Test
    void singleTextsAreGpt2IdsBetweenSAndSlashS() throws IOException {
        JsonNode cases;
        try (InputStream in = getClass().getResourceAsStream("/fixtures/tokenizer/gpt2_reference.json")) {
            cases = new ObjectMapper().readTree(in);
        }
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            int[] expected = wrap(GPT2.encode(text));
            SequenceTokenizer.Batch b = tokenizer.encodePair(text, null, Integer.MAX_VALUE);
            assertArrayEquals(expected, b.ids(), text);
            assertTrue(IntStream.of(b.tokenTypes()).allMatch(t -> t == 0));
        }
        assertEquals("Hello, my dog is cute", tokenizer.decode(tokenizer.encodePair("Hello, my dog is cute", null, 64).ids()));
    }

    @Test
    void pairsGetTwoSeparatorsBetweenThem() {
        int[] a = GPT2.encode("The cat sat.");
        int[] b = GPT2.encode(" On the mat.");
        assertArrayEquals(wrap(a, b), tokenizer.encodePair("The cat sat.", " On the mat.", 512).ids());
    }

    @Test
    void truncationRemovesFromTheLongerTextAndKeepsTheFourSpecials() {
        String a = "one two three four five six seven";
        String b = " eight nine";
        int[] ids = tokenizer.encodePair(a, b, 10).ids();
        assertEquals(10, ids.length);
        // 7 + 2 tokens and 4 specials: 3 too many, all taken from the longer first text.
        int[] expected = wrap(java.util.Arrays.copyOf(GPT2.encode(a), 4), GPT2.encode(b));
        assertArrayEquals(expected, ids);
        assertThrows(IllegalArgumentException.class, () -> tokenizer.encodePair(a, b, 3));
    }

    @Test
    void specialTokensInTextAreOneTokenAndPaddingUsesPad() {
        int[] ids = tokenizer.encodePair("a <mask> b", null, 64).ids();
        assertTrue(IntStream.of(ids).anyMatch(i -> i == MASK));
        assertEquals(PAD, tokenizer.padId());
        SequenceTokenizer.Batch batch = tokenizer.encodeBatch(List.of("short", "a longer text here"), 64);
        assertEquals(PAD, batch.ids()[batch.length() - 1]);
        assertEquals(0f, batch.mask()[batch.length() - 1]);
    }

    @Test
    void addPrefixSpaceFromTheByteLevelPreTokenizerEncodesAsAfterASpace() throws IOException {
        Path spaced = dir.resolve("spaced");
        Files.createDirectories(spaced);
        ObjectNode root = (ObjectNode) new ObjectMapper().readTree(dir.resolve("tokenizer.json").toFile());
        ((ObjectNode) root.get("pre_tokenizer")).put("add_prefix_space", true);
        new ObjectMapper().writeValue(spaced.resolve("tokenizer.json").toFile(), root);
        RobertaTokenizer prefixed = RobertaTokenizer.load(spaced);
        assertArrayEquals(wrap(GPT2.encode(" Hello world")), prefixed.encodePair("Hello world", null, 64).ids());
        assertArrayEquals(wrap(GPT2.encode(" already spaced")), prefixed.encodePair(" already spaced", null, 64).ids());
        assertEquals("Hello world", prefixed.decode(prefixed.encodePair("Hello world", null, 64).ids()));
    }

    @Test
    void vocabJsonWithoutSpecialTokensIsAnErrorNamingTheToken() throws IOException {
        Path plain = dir.resolve("plain");
        Files.createDirectories(plain);
        try (InputStream vocab = Gpt2Tokenizer.class.getResourceAsStream("gpt2/vocab.json");
             InputStream merges = Gpt2Tokenizer.class.getResourceAsStream("gpt2/merges.txt")) {
            Files.write(plain.resolve("vocab.json"), vocab.readAllBytes());
            Files.write(plain.resolve("merges.txt"), merges.readAllBytes());
        }
        IOException e = assertThrows(IOException.class, () -> RobertaTokenizer.load(plain));
        assertEquals(plain + ": RoBERTa tokenizer: the vocabulary has no <s> token", e.getMessage());
    }
}
