package dev.lora4j.lora;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.nn.Embedding;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.Fixtures;
import org.junit.jupiter.api.Test;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LoraEmbeddingTest {
    @Test
    void forwardBackwardAndMergeMatchTorch() {
        SafeTensors.Contents f = Fixtures.load("lora/embedding");
        Tensor w = f.tensor("weight");
        Embedding base = new Embedding(w.dim(0), w.dim(1), 0);
        base.weight().value().copyFrom(w);
        base.requiresGrad(false);
        LoraEmbedding layer = new LoraEmbedding(base);
        layer.updateLayer("default", 3, 6, LoraConfig.builder().build(), 1);
        layer.weightA("default").value().copyFrom(f.tensor("lora_embedding_A"));
        layer.weightB("default").value().copyFrom(f.tensor("lora_embedding_B"));
        int[] ids = f.ints("ids");
        assertClose(f.tensor("out"), layer.forward(ids, 2, 5), 1e-5f, 1e-5f);
        layer.backward(f.tensor("dout"));
        assertClose(f.tensor("dlora_embedding_A"), layer.weightA("default").grad(), 1e-5f, 1e-5f);
        assertClose(f.tensor("dlora_embedding_B"), layer.weightB("default").grad(), 1e-5f, 1e-5f);
        layer.merge(true, null);
        assertClose(f.tensor("merged"), base.weight().value(), 1e-5f, 1e-5f);
        assertClose(f.tensor("out"), layer.forward(ids, 2, 5), 1e-5f, 1e-5f);
        layer.unmerge();
        assertClose(w, base.weight().value(), 1e-5f, 1e-5f);
    }

    @Test
    void startsAtTheBaseModelWithAZeroAndRejectsDora() {
        Embedding base = new Embedding(9, 4, 3);
        LoraEmbedding layer = new LoraEmbedding(base);
        int[] ids = {1, 8, 0, 3};
        Tensor expected = base.forward(ids, 4).copy();
        layer.updateLayer("default", 2, 4, LoraConfig.builder().build(), 5);
        assertClose(expected, layer.forward(ids, 4), 0f, 0f);
        assertThrows(IllegalArgumentException.class,
                () -> layer.updateLayer("d", 2, 4, LoraConfig.builder().useDora(true).build(), 5));
    }
}
