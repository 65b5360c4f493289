package dev.lora4j.nn;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.testing.Fixtures;
import dev.lora4j.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class Conv2dTest {
    @Test
    void stridedPaddedConvolutionMatchesTorch() {
        SafeTensors.Contents f = Fixtures.load("lora/conv2d");
        Conv2d conv = new Conv2d(3, 4, 3, 3, 2, 1, true, 0);
        conv.weight().value().copyFrom(f.tensor("weight"));
        conv.bias().value().copyFrom(f.tensor("bias"));
        assertClose(f.tensor("plain_out"), conv.forward(f.tensor("x")), 1e-5f, 1e-5f);
        assertClose(f.tensor("plain_dx"), conv.backward(f.tensor("dout")), 1e-5f, 1e-5f);
        assertClose(f.tensor("plain_dweight"), conv.weight().grad(), 1e-4f, 1e-5f);
        assertClose(f.tensor("plain_dbias"), conv.bias().grad(), 1e-4f, 1e-5f);
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        GradCheck.assertModule(new Conv2d(2, 3, 2, 3, 1, 1, true, 4), 5, 2, 2, 4, 5);
    }

    @Test
    void printsAsTorchAndRejectsWrongChannels() {
        Conv2d conv = new Conv2d(3, 4, 3, 3, 2, 1, false, 0);
        assertEquals("Conv2d(3, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)", conv.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> conv.forward(GradCheck.random(1, 1, 2, 5, 5)));
        assertEquals("Conv2d: expected input (N, 3, H, W), got (1, 2, 5, 5)", e.getMessage());
    }
}
