package dev.lora4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The real all-MiniLM-L6-v2 vocabulary (from its Maven Central artifact) against BERT's tokenization.py. */
class WordPieceTokenizerTest {
    private static final WordPieceTokenizer TOKENIZER = load();

    private static WordPieceTokenizer load() {
        try (InputStream in = WordPieceTokenizerTest.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            return WordPieceTokenizer.fromTokenizerJson(in, "all-minilm-l6-v2-tokenizer.json");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void matchesPublishedExample() {
        // bert-base-uncased ids from the transformers documentation; MiniLM shares the vocabulary.
        assertArrayEquals(new int[] {101, 7592, 1010, 2026, 3899, 2003, 10140, 102}, TOKENIZER.encode("Hello, my dog is cute"));
        assertEquals(30522, TOKENIZER.vocabSize());
    }

    @Test
    void matchesTheTokenizationPyReference() throws IOException {
        JsonNode cases;
        try (InputStream in = getClass().getResourceAsStream("/fixtures/tokenizer/wordpiece_reference.json")) {
            cases = new ObjectMapper().readTree(in);
        }
        assertTrue(cases.size() > 400);
        for (JsonNode c : cases) {
            int[] expected = new int[c.get("ids").size()];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = c.get("ids").get(i).asInt();
            }
            assertArrayEquals(expected, TOKENIZER.encode(c.get("text").asText()), c.get("text").asText());
        }
    }

    @Test
    void pairsGetTypeIdsAndLongestFirstTruncation() {
        WordPieceTokenizer.Batch b = TOKENIZER.encodePair("one two three four five", "six", 7);
        // [CLS] one two three [SEP] six [SEP]: the longer first sequence lost two tokens.
        assertArrayEquals(new int[] {0, 0, 0, 0, 0, 1, 1}, b.tokenTypes());
        assertEquals("one two three six", TOKENIZER.decode(b.ids()));
    }

    @Test
    void batchesArePaddedWithAMask() {
        WordPieceTokenizer.Batch b = TOKENIZER.encodeBatch(List.of("a fine film", "bad"), 16);
        assertEquals(2, b.batchSize());
        assertEquals(5, b.length());
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, b.mask());
        assertEquals(0, b.ids()[9]);
        assertEquals("bad", TOKENIZER.decode(java.util.Arrays.copyOfRange(b.ids(), 5, 10)));
    }

    @Test
    void decodeJoinsWordPieces() {
        assertEquals("unaffable", TOKENIZER.decode(TOKENIZER.encode("unaffable")));
        assertTrue(TOKENIZER.tokenize("unaffable").size() > 1);
    }
}
