package dev.lora4j.models.bert;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A two-layer BERT classifier against a hand-written PyTorch BERT (scripts/fixtures/make_fixtures.py, bert_tiny). */
class BertForSequenceClassificationTest {
    @TempDir
    Path tmp;

    private final SafeTensors.Contents f;

    BertForSequenceClassificationTest() throws Exception {
        f = SafeTensors.read(Fixtures.model("bert_tiny_batch.safetensors"));
    }

    @Test
    void hiddenStatesLogitsLossAndGradientsMatchTorch() throws Exception {
        BertForSequenceClassification model = BertForSequenceClassification.load(Fixtures.model("bert-tiny"), 0);
        float[] mask = f.tensor("mask").toFloatArray();
        Tensor logits = model.forward(f.ints("ids"), f.ints("token_types"), mask, 2, 6);
        assertClose(f.tensor("logits"), logits, 1e-5f, 1e-4f);
        CrossEntropyLoss lossFn = new CrossEntropyLoss();
        assertEquals(f.tensor("loss").item(), lossFn.forward(logits, f.ints("labels"), null), 1e-5f);
        model.zeroGrad();
        model.backward(lossFn.backward(1f));
        Map<String, Parameter> params = model.namedParameters();
        for (String name : f.names()) {
            if (name.startsWith("grad.")) {
                assertClose(f.tensor(name), params.get(name.substring("grad.".length())).grad(), 1e-5f, 1e-3f);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bert.embeddings.", "bert.embeddings.|bert.encoder.layer.0.attention."})
    void withFrozenLowerPartsTheTrainableGradientsStillMatchTorch(String frozenPrefixes) throws Exception {
        // Backward then stops below the lowest trainable layer (no input gradient where nothing needs it).
        BertForSequenceClassification model = BertForSequenceClassification.load(Fixtures.model("bert-tiny"), 0);
        Map<String, Parameter> params = model.namedParameters();
        params.forEach((name, p) -> p.setRequiresGrad(!name.matches("(" + frozenPrefixes.replace(".", "\\.") + ").*")));
        Tensor logits = model.forward(f.ints("ids"), f.ints("token_types"), f.tensor("mask").toFloatArray(), 2, 6);
        CrossEntropyLoss lossFn = new CrossEntropyLoss();
        lossFn.forward(logits, f.ints("labels"), null);
        model.zeroGrad();
        model.backward(lossFn.backward(1f));
        int compared = 0;
        for (String name : f.names()) {
            Parameter p = name.startsWith("grad.") ? params.get(name.substring("grad.".length())) : null;
            if (p != null && p.requiresGrad()) {
                assertClose(f.tensor(name), p.grad(), 1e-5f, 1e-3f);
                compared++;
            }
        }
        assertTrue(compared >= 4, "compared " + compared);
    }

    @Test
    void meanPoolingAndItsGradientMatchTorch() throws Exception {
        BertForSequenceClassification model = BertForSequenceClassification.load(Fixtures.model("bert-tiny"), 0);
        float[] mask = f.tensor("mask").toFloatArray();
        Tensor hidden = model.bert().forward(f.ints("ids"), f.ints("token_types"), mask, 2, 6);
        assertClose(f.tensor("hidden"), hidden, 1e-5f, 1e-4f);
        MeanPooling pooling = new MeanPooling();
        Tensor mean = pooling.forward(hidden, mask);
        assertClose(f.tensor("mean"), mean, 1e-5f, 1e-4f);
        model.zeroGrad();
        Tensor dmean = mean.copy().scaleInPlace(2f);          // d Σ mean² / d mean
        model.bert().backward(pooling.backward(dmean), null);
        Map<String, Parameter> params = model.namedParameters();
        for (String name : f.names()) {
            if (name.startsWith("meangrad.")) {
                assertClose(f.tensor(name), params.get(name.substring("meangrad.".length())).grad(), 1e-5f, 1e-3f);
            }
        }
    }

    @Test
    void bareBertCheckpointLoadsWithAFreshHead() throws Exception {
        SafeTensors.Contents original = SafeTensors.read(Fixtures.model("bert-tiny/model.safetensors"));
        Map<String, Tensor> bare = new LinkedHashMap<>();
        original.names().stream().filter(n -> n.startsWith("bert.") && !n.startsWith("bert.pooler"))
                .forEach(n -> bare.put(n.substring("bert.".length()), original.tensor(n)));
        SafeTensors.write(tmp.resolve("model.safetensors"), bare, null);
        Files.copy(Fixtures.model("bert-tiny/config.json"), tmp.resolve("config.json"));
        BertForSequenceClassification model = BertForSequenceClassification.load(tmp, 0);
        Tensor hidden = model.bert().forward(f.ints("ids"), f.ints("token_types"), f.tensor("mask").toFloatArray(), 2, 6);
        assertClose(f.tensor("hidden"), hidden, 1e-5f, 1e-4f);
        // The absent head is initialised as torch.nn.Linear is (U(±1/√in)), not left at zero by the skipped
        // initialisation of a complete checkpoint.
        float[] head = model.namedParameters().get("classifier.weight").value().toFloatArray();
        float bound = (float) (1 / Math.sqrt(32));
        assertTrue(java.util.stream.IntStream.range(0, head.length).allMatch(i -> Math.abs(head[i]) <= bound)
                && java.util.stream.IntStream.range(0, head.length).filter(i -> head[i] != 0f).count() == head.length);
    }

    @Test
    void missingEncoderWeightIsAnError() throws Exception {
        SafeTensors.Contents original = SafeTensors.read(Fixtures.model("bert-tiny/model.safetensors"));
        Map<String, Tensor> partial = new LinkedHashMap<>();
        original.names().stream().filter(n -> !n.contains("layer.1.output.dense.bias")).forEach(n -> partial.put(n, original.tensor(n)));
        SafeTensors.write(tmp.resolve("model.safetensors"), partial, null);
        Files.copy(Fixtures.model("bert-tiny/config.json"), tmp.resolve("config.json"));
        IOException e = assertThrows(IOException.class, () -> BertForSequenceClassification.load(tmp, 0));
        assertEquals(tmp.resolve("model.safetensors") + ": missing weight 'encoder.layer.1.output.dense.bias' "
                + "(also looked for 'bert.encoder.layer.1.output.dense.bias')", e.getMessage());
    }
}
