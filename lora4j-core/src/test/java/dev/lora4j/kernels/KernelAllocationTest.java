package dev.lora4j.kernels;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Once compiled, the element-wise and row kernels allocate nothing per element: a Vector API value that C2 does
 * not keep in a register (because a helper taking or returning it was left out of inlining) is boxed on the heap
 * at every operation, which made GPT-2's GELU allocate 30 MB per call and run 4× slower. What a call may allocate
 * is its few small task objects.
 */
class KernelAllocationTest {
    // A boxed run allocates hundreds of kilobytes here (a vector object per operation on 1,204 elements).
    private static final long MAX_BYTES_PER_RUN = 16 * 1024;

    @Test
    void compiledKernelsAllocateOnlyTheirTasks() {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        KernelWorkload workload = new KernelWorkload();
        long deadline = System.nanoTime() + 60_000_000_000L;
        long perRun;
        do {
            for (int i = 0; i < 500; i++) {
                workload.run();   // until C2 has compiled the kernels, which it does in the background
            }
            long[] ids = kernelThreads();
            long before = sum(mx.getThreadAllocatedBytes(ids));
            int runs = 50;
            for (int i = 0; i < runs; i++) {
                workload.run();
            }
            perRun = (sum(mx.getThreadAllocatedBytes(ids)) - before) / runs;
        } while (perRun > MAX_BYTES_PER_RUN && System.nanoTime() < deadline);
        assertTrue(perRun <= MAX_BYTES_PER_RUN, "a compiled run of every kernel allocated " + perRun
                + " bytes, expected at most " + MAX_BYTES_PER_RUN + ": some kernel boxes its vectors");
    }

    // This thread and the pool's, which take part of every parallel call.
    private static long[] kernelThreads() {
        List<Long> ids = new ArrayList<>(List.of(Thread.currentThread().threadId()));
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("lora4j-kernel-")) {
                ids.add(t.threadId());
            }
        }
        return ids.stream().mapToLong(Long::longValue).toArray();
    }

    private static long sum(long[] values) {
        long s = 0;
        for (long v : values) {
            s += Math.max(0, v);
        }
        return s;
    }
}
