package dev.lora4j.kernels;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ParallelTest {
    @Test
    void everyIndexRunsOnce() {
        AtomicIntegerArray seen = new AtomicIntegerArray(1000);
        Parallel.forEach(1000, seen::incrementAndGet);
        for (int i = 0; i < 1000; i++) {
            assertEquals(1, seen.get(i), "index " + i);
        }
    }

    @Test
    void failuresReachTheCallerAsThrownWhicheverThreadRanTheTask() {
        // Every index fails, so whichever thread takes one throws; the caller sees the same class either way.
        IllegalStateException runtime = new IllegalStateException("task failed");
        assertSame(runtime, assertThrows(IllegalStateException.class, () -> Parallel.forEach(64, i -> {
            throw runtime;
        })));
        OutOfMemoryError error = new OutOfMemoryError("simulated");
        assertSame(error, assertThrows(OutOfMemoryError.class, () -> Parallel.forEach(64, i -> {
            throw error;
        })));
    }
}
