package dev.lora4j.nn;

import dev.lora4j.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class Conv1DTest {
    @Test
    void forwardAndBackwardMatchTorch() {
        LinearTest.checkAgainstTorch(new Conv1D(16, 8), "nn/conv1d");
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        GradCheck.assertModule(new Conv1D(9, 13, 4), 6, 3, 9);
    }

    @Test
    void storesWeightInByOut() {
        Conv1D c = new Conv1D(9, 13);
        assertEquals(9, c.weight().value().dim(0));
        assertEquals(13, c.weight().value().dim(1));
        assertEquals("Conv1D(nf=13, nx=9)", c.toString());
    }
}
