package dev.lora4j.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SeqClsDataTest {
    @TempDir
    Path tmp;

    @Test
    void readsTsvWithHeaderAndJsonl() throws IOException {
        Path tsv = tmp.resolve("a.tsv");
        Files.writeString(tsv, "sentence\tlabel\nit 's great \t1\n\nawful\t0\n");
        assertEquals(List.of(new LabeledText("it 's great", 1, 2), new LabeledText("awful", 0, 4)), SeqClsData.read(tsv));
        Path jsonl = tmp.resolve("a.jsonl");
        Files.writeString(jsonl, "{\"text\": \"fine\", \"label\": 1}\n{\"sentence\": \"bad\", \"label\": \"0\"}\n");
        assertEquals(List.of(new LabeledText("fine", 1, 1), new LabeledText("bad", 0, 2)), SeqClsData.read(jsonl));
    }

    @Test
    void badRowsNameFileAndLine() throws IOException {
        Path f = tmp.resolve("bad.tsv");
        String[][] cases = {
                {"text\tlabel\nok\tpositive\n", ":2: label 'positive' is not an integer class index"},
                {"sentence\tlabel\nok\n", ":2: expected 2 tab-separated columns, found 1"},
                {"words\tclass\nok\t1\n", ":1: header [words, class] must name a 'sentence' (or 'text') and a 'label' column, tab-separated"},
                {"sentence\tlabel\n\t1\n", ":2: empty text"},
                {"sentence\tlabel\nx\t-1\n", ":2: label -1 is negative"},
                {"sentence\tlabel\n", ": no examples"}};
        for (String[] c : cases) {
            Files.writeString(f, c[0]);
            IOException e = assertThrows(IOException.class, () -> SeqClsData.read(f));
            assertEquals(f + c[1], e.getMessage());
        }
        Path j = tmp.resolve("bad.jsonl");
        Files.writeString(j, "{\"text\": \"x\", \"label\": 1}\n{oops\n");
        assertEquals(j + ":2: not a JSON object", assertThrows(IOException.class, () -> SeqClsData.read(j)).getMessage());
        assertEquals(tmp.resolve("none.tsv") + ": file not found",
                assertThrows(IOException.class, () -> SeqClsData.read(tmp.resolve("none.tsv"))).getMessage());
    }
}
