package dev.lora4j.nn;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.testing.Fixtures;
import dev.lora4j.tensor.DType;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class EmbeddingTest {
    @Test
    void lookupAndScatterAddMatchTorch() {
        SafeTensors.Contents f = Fixtures.load("nn/embedding");
        Embedding emb = new Embedding(10, 6, 0);
        emb.weight().value().copyFrom(f.tensor("weight"));
        Tensor out = emb.forward(f.ints("ids"), 2, 4);
        assertClose(f.tensor("out"), out, 0f, 0f);
        emb.backward(f.tensor("dout"));
        // ids repeat (3 appears three times), so this also checks that the scatter adds up.
        assertClose(f.tensor("dweight"), emb.weight().grad(), 1e-6f, 1e-6f);
    }

    @Test
    void halfPrecisionTableWidensOnLookup() {
        SafeTensors.Contents f = Fixtures.load("nn/embedding");
        Embedding emb = new Embedding(10, 6, 0);
        emb.weight().setRequiresGrad(false);
        Tensor bf16 = f.tensor("weight").to(DType.BF16);
        emb.weight().setValue(bf16);
        int[] ids = f.ints("ids");
        Tensor out = emb.forward(ids, 8);
        for (int n = 0; n < 8; n++) {
            for (int c = 0; c < 6; c++) {
                assertEquals(bf16.get(ids[n], c), out.get(n, c));
            }
        }
    }

    @Test
    void rejectsIdOutOfRange() {
        var e = assertThrows(IllegalArgumentException.class, () -> new Embedding(10, 4, 0).forward(new int[] {1, 10}, 2));
        assertEquals("embedding: id 10 at position 1 is outside [0, 10)", e.getMessage());
    }
}
