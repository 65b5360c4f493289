package dev.lora4j.models.bert;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.models.AutoModel;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A two-layer RoBERTa classifier against PyTorch (scripts/fixtures/make_fixtures.py, roberta_tiny): positions
 * from the padding id, no token types, the dense-tanh-out_proj head on {@code <s>}.
 */
class RobertaForSequenceClassificationTest {
    private final SafeTensors.Contents f;

    RobertaForSequenceClassificationTest() throws Exception {
        f = SafeTensors.read(Fixtures.model("roberta_tiny_batch.safetensors"));
    }

    @Test
    void hiddenStatesLogitsLossAndGradientsMatchTorch() throws Exception {
        RobertaForSequenceClassification model = RobertaForSequenceClassification.load(Fixtures.model("roberta-tiny"), 0);
        float[] mask = f.tensor("mask").toFloatArray();
        Tensor hidden = model.encoder().forward(f.ints("ids"), null, mask, 2, 7);
        assertClose(f.tensor("hidden"), hidden, 1e-5f, 1e-4f);
        Tensor logits = model.forward(f.ints("ids"), null, mask, 2, 7);
        assertClose(f.tensor("logits"), logits, 1e-5f, 1e-4f);
        CrossEntropyLoss lossFn = new CrossEntropyLoss();
        assertEquals(f.tensor("loss").item(), lossFn.forward(logits, f.ints("labels"), null), 1e-5f);
        model.zeroGrad();
        model.backward(lossFn.backward(1f));
        Map<String, Parameter> params = model.namedParameters();
        int checked = 0;
        for (String name : f.names()) {
            if (name.startsWith("grad.")) {
                assertClose(f.tensor(name), params.get(name.substring("grad.".length())).grad(), 1e-5f, 1e-3f);
                checked++;
            }
        }
        assertEquals(6, checked);
    }

    @Test
    void positionsStartAfterThePaddingIdWhateverThePaddingLength() throws Exception {
        // The second row alone, unpadded, must give the same <s> state as inside the padded batch: positions
        // count tokens, not slots, and padding is masked out.
        RobertaForSequenceClassification model = RobertaForSequenceClassification.load(Fixtures.model("roberta-tiny"), 0);
        int[] ids = f.ints("ids");
        Tensor padded = model.encoder().forward(ids, null, f.tensor("mask").toFloatArray(), 2, 7).copy();
        int[] short1 = {ids[7], ids[8], ids[9], ids[10]};
        Tensor alone = model.encoder().forward(short1, null, null, 1, 4);
        for (int t = 0; t < 4; t++) {
            for (int c = 0; c < 32; c++) {
                assertEquals(padded.get(1, t, c), alone.get(0, t, c), 1e-5f);
            }
        }
    }

    @Test
    void autoModelLoadsItUnderTheRobertaPrefix() throws Exception {
        AutoModel.Loaded loaded = AutoModel.load(Fixtures.model("roberta-tiny").toString(), 2, 0);
        assertEquals("roberta", loaded.modelType());
        assertEquals("roberta.", loaded.prefix());
        assertInstanceOf(RobertaForSequenceClassification.class, loaded.model());
        assertTrue(loaded.model().namedParameters().containsKey("classifier.out_proj.weight"));
        assertTrue(loaded.model().namedParameters().containsKey("roberta.encoder.layer.1.attention.self.value.bias"));
        // The tree prints with transformers' RoBERTa class names, a BERT's with BERT's, though the code is shared.
        String tree = loaded.model().toString();
        assertTrue(tree.contains("(roberta): RobertaModel(") && tree.contains("(0): RobertaLayer(")
                && tree.contains("(output): RobertaSelfOutput(") && !tree.contains("Bert"), tree);
        String bert = AutoModel.load(Fixtures.model("bert-tiny").toString(), 2, 0).model().toString();
        assertTrue(bert.contains("(bert): BertModel(") && bert.contains("(attention): BertAttention(") && !bert.contains("Roberta"), bert);
    }

    @Test
    void tooLongSequenceNamesThePositionLimit() throws Exception {
        RobertaForSequenceClassification model = RobertaForSequenceClassification.load(Fixtures.model("roberta-tiny"), 0);
        // max_position_embeddings 10 with pad_token_id 1 leaves 8 positions.
        model.forward(new int[8], null, null, 1, 8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.forward(new int[9], null, null, 1, 9));
        assertEquals("roberta: sequence length 9 exceeds the 8 positions of max_position_embeddings 10 (less pad_token_id + 1)",
                e.getMessage());
    }
}
