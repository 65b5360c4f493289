package dev.lora4j.nn;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.testing.Fixtures;
import dev.lora4j.testing.GradCheck;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MultiHeadAttentionTest {
    @Test
    void fusedCausalAttentionMatchesTorch() {
        SafeTensors.Contents f = Fixtures.load("nn/attention_causal");
        MultiHeadAttention attn = new MultiHeadAttention(Integer.parseInt(f.metadata().get("n_head")), true);
        assertClose(f.tensor("out"), attn.forward(f.tensor("qkv")), 1e-5f, 1e-5f);
        assertClose(f.tensor("dqkv"), attn.backward(f.tensor("dout")), 1e-5f, 1e-4f);
    }

    @Test
    void paddedCrossAttentionMatchesTorch() {
        SafeTensors.Contents f = Fixtures.load("nn/attention_masked");
        MultiHeadAttention attn = new MultiHeadAttention(Integer.parseInt(f.metadata().get("n_head")), false);
        Tensor out = attn.forward(f.tensor("q"), f.tensor("k"), f.tensor("v"), f.tensor("mask").toFloatArray());
        assertClose(f.tensor("out"), out, 1e-5f, 1e-5f);
        Tensor[] grads = attn.backwardSeparate(f.tensor("dout"));
        assertClose(f.tensor("dq"), grads[0], 1e-5f, 1e-4f);
        assertClose(f.tensor("dk"), grads[1], 1e-5f, 1e-4f);
        assertClose(f.tensor("dv"), grads[2], 1e-5f, 1e-4f);
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        GradCheck.assertModule(new MultiHeadAttention(2, true), 10, 2, 4, 3 * 6);
    }

    @Test
    void futureTokensDoNotChangeEarlierOutputs() {
        MultiHeadAttention attn = new MultiHeadAttention(2, true);
        Tensor x = GradCheck.random(1, 1, 5, 12);
        float[] before = attn.forward(x).toFloatArray();
        x.set(x.get(0, 4, 3) + 10f, 0, 4, 3);
        float[] after = attn.forward(x).toFloatArray();
        for (int i = 0; i < 4 * 4; i++) {
            assertEquals(before[i], after[i], "position " + i / 4 + " saw the future");
        }
    }

    @Test
    void rejectsWidthNotDivisibleByHeads() {
        var e = assertThrows(IllegalArgumentException.class, () -> new MultiHeadAttention(5, true).forward(Tensor.zeros(1, 2, 12)));
        assertEquals("MultiHeadAttention: width 4 is not divisible by 5 heads", e.getMessage());
    }
}
