package dev.lora4j.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

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

    @Test
    @Timeout(60)
    void concurrentCallersAndNestedCallsEachRunEveryIndexOnce() throws Exception {
        // Callers on several threads at once (Spark runs tasks side by side): one holds the pool, the others run
        // inline; a call from inside a task runs inline too. Every outer and inner index must still run once.
        int callers = 4, outer = 200, inner = 50;
        AtomicIntegerArray seen = new AtomicIntegerArray(callers * outer * inner);
        Thread[] threads = new Thread[callers];
        Throwable[] failures = new Throwable[callers];
        for (int c = 0; c < callers; c++) {
            int base = c * outer * inner;
            int id = c;
            threads[c] = new Thread(() -> {
                try {
                    for (int round = 0; round < 5; round++) {
                        int r = round;
                        Parallel.forEach(outer, i -> Parallel.forEach(inner, j -> {
                            if (r == 0) {
                                seen.incrementAndGet(base + i * inner + j);
                            }
                        }));
                    }
                } catch (Throwable e) {
                    failures[id] = e;
                }
            });
            threads[c].start();
        }
        for (Thread t : threads) {
            t.join(60_000);
        }
        for (int c = 0; c < callers; c++) {
            assertEquals(null, failures[c], "caller " + c);
        }
        for (int i = 0; i < seen.length(); i++) {
            assertEquals(1, seen.get(i), "index " + i);
        }
    }

    @Test
    @Timeout(20)
    void aCallAfterTheWorkersHaveParkedStillRunsEverything() throws Exception {
        // Longer than the workers spin, so they park and must be woken (a lost wake-up would hang here).
        Thread.sleep(50);
        AtomicIntegerArray seen = new AtomicIntegerArray(64);
        Parallel.forEach(64, i -> {
            seen.incrementAndGet(i);
            if (i % 8 == 0) {
                Thread.onSpinWait();
            }
        });
        for (int i = 0; i < 64; i++) {
            assertEquals(1, seen.get(i), "index " + i);
        }
    }
}
