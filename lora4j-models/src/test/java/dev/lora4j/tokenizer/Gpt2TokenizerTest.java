package dev.lora4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Gpt2TokenizerTest {
    private static final Gpt2Tokenizer TOKENIZER = Gpt2Tokenizer.gpt2();

    @Test
    void matchesPublishedExamples() {
        // From the GPT2Tokenizer docstring in Hugging Face transformers.
        assertArrayEquals(new int[] {15496, 995}, TOKENIZER.encode("Hello world"));
        assertArrayEquals(new int[] {18435, 995}, TOKENIZER.encode(" Hello world"));
        // From the transformers documentation's GPT-2 examples.
        assertArrayEquals(new int[] {15496, 11, 616, 3290, 318, 13779}, TOKENIZER.encode("Hello, my dog is cute"));
        assertEquals(50257, TOKENIZER.vocabSize());
        assertEquals(50256, TOKENIZER.endOfTextId());
    }

    @Test
    void matchesTheEncoderPyReferenceOnDataAndEdgeCases() throws IOException {
        JsonNode cases;
        try (InputStream in = getClass().getResourceAsStream("/fixtures/tokenizer/gpt2_reference.json")) {
            cases = new ObjectMapper().readTree(in);
        }
        assertTrue(cases.size() > 600);
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            int[] expected = new int[c.get("ids").size()];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = c.get("ids").get(i).asInt();
            }
            assertArrayEquals(expected, TOKENIZER.encode(text), text);
        }
    }

    @Test
    void endOfTextIsOneTokenAndRoundTrips() {
        int[] ids = TOKENIZER.encode("a<|endoftext|>b");
        assertEquals(3, ids.length);
        assertEquals(50256, ids[1]);
        assertEquals("a<|endoftext|>b", TOKENIZER.decode(ids));
    }

    @Test
    void roundTripsEveryLineOfTheShippedData() throws IOException {
        Path data = Path.of("..", "data");
        for (String file : List.of("e2e/train.txt", "sst2/train.tsv", "sst2/dev.tsv")) {
            for (String line : Files.readAllLines(data.resolve(file))) {
                assertEquals(line, TOKENIZER.decode(TOKENIZER.encode(line)), file);
            }
        }
    }

    @Test
    void loadsFromVocabAndMergesInADirectory(@TempDir Path dir) throws IOException {
        for (String name : List.of("vocab.json", "merges.txt")) {
            try (InputStream in = Gpt2Tokenizer.class.getResourceAsStream("gpt2/" + name)) {
                Files.copy(in, dir.resolve(name));
            }
        }
        assertArrayEquals(TOKENIZER.encode("LoRA on the JVM"), Gpt2Tokenizer.load(dir).encode("LoRA on the JVM"));
        IOException e = assertThrows(IOException.class, () -> Gpt2Tokenizer.load(dir.resolve("missing")));
        assertEquals(dir.resolve("missing") + ": no tokenizer.json, and no vocab.json with merges.txt", e.getMessage());
    }

    @Test
    void rejectsUnknownId() {
        var e = assertThrows(IllegalArgumentException.class, () -> TOKENIZER.decode(new int[] {50257}));
        assertEquals("GPT-2 tokenizer: id 50257 is outside the vocabulary of 50257", e.getMessage());
    }
}
