package dev.lora4j.models.onnx;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.models.bert.BertForSequenceClassification;
import dev.lora4j.models.bert.MeanPooling;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tokenizer.WordPieceTokenizer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The real pretrained all-MiniLM-L6-v2 from Maven Central, imported from ONNX, against the same weights read by
 * the onnx Python package and run through a hand-written PyTorch BERT (make_fixtures.py, minilm_onnx_reference).
 */
class MiniLmImportTest {
    private static byte[] onnxBytes() throws IOException {
        try (InputStream in = MiniLmImportTest.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            return in.readAllBytes();
        }
    }

    @Test
    void importedMiniLmGivesTorchsSentenceEmbeddings() throws Exception {
        OnnxGraph graph = OnnxGraph.parse(onnxBytes(), "all-minilm-l6-v2.onnx");
        Map<String, Tensor> weights = MiniLmImport.huggingFaceWeights(graph);
        assertEquals(Arrays.asList(384, 384), Arrays.stream(weights.get("encoder.layer.5.attention.self.value.weight").shape().toArray()).boxed().toList());
        BertForSequenceClassification model = BertForSequenceClassification.fromWeights(weights, "all-minilm-l6-v2.onnx",
                MiniLmImport.allMiniLmL6V2Config(2), BertForSequenceClassification.Pooling.CLS, 0);
        model.eval();

        SafeTensors.Contents f = SafeTensors.read(Path.of(getClass().getResource("/fixtures/models/minilm_onnx_reference.safetensors").toURI()));
        int[] ids = f.ints("ids");
        float[] mask = f.tensor("mask").toFloatArray();
        Tensor hidden = model.bert().forward(ids, null, mask, 3, 8);
        assertClose(f.tensor("hidden0"), hidden.narrow(0, 0, 1).contiguous().view(8, 384), 1e-4f, 1e-3f);
        assertClose(f.tensor("mean"), new MeanPooling().forward(hidden, mask), 1e-5f, 1e-3f);
    }

    @Test
    void tokenizerProducesTheReferenceIds() throws IOException {
        WordPieceTokenizer tok;
        try (InputStream in = getClass().getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            tok = WordPieceTokenizer.fromTokenizerJson(in, "all-minilm-l6-v2-tokenizer.json");
        }
        assertArrayEquals(new int[] {101, 2023, 2003, 2019, 2742, 6251, 102}, tok.encode("This is an example sentence"));
        assertArrayEquals(new int[] {101, 1037, 2200, 2204, 3185, 999, 102}, tok.encode("A very good movie!"));
    }

    @Test
    void rejectsBytesThatAreNotOnnx() {
        IOException e = assertThrows(IOException.class, () -> OnnxGraph.parse(new byte[] {0x0a, 0x7f, 1}, "x.onnx"));
        assertEquals("x.onnx: field of 127 bytes runs past the end at byte 2", e.getMessage());
    }
}
