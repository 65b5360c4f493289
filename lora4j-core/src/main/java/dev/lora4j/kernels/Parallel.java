package dev.lora4j.kernels;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The one thread pool every kernel shares: a fixed set of daemon threads, one per core unless the system
 * property {@code lora4j.threads} says otherwise.
 *
 * <p>A kernel splits its work into {@code n} independent tasks and calls {@link #forEach}; the calling thread
 * takes tasks too. A call made from inside a task runs inline, so kernels may call other kernels freely
 * (attention runs its per-head GEMMs single-threaded inside a parallel loop over heads).
 */
public final class Parallel {
    private static final int THREADS = Integer.getInteger("lora4j.threads", Runtime.getRuntime().availableProcessors());
    private static final ThreadLocal<Boolean> IN_TASK = ThreadLocal.withInitial(() -> false);
    private static final ExecutorService POOL = Executors.newFixedThreadPool(Math.max(1, THREADS - 1), r -> {
        Thread t = new Thread(r, "lora4j-kernel");
        t.setDaemon(true);
        return t;
    });

    private Parallel() {
    }

    /** Number of threads kernels use, including the caller. */
    public static int threads() {
        return Math.max(1, THREADS);
    }

    /** True on a thread that is already running one of this pool's tasks. */
    public static boolean inTask() {
        return IN_TASK.get();
    }

    /** A piece [from, to) of an element-wise job. */
    public interface Range {
        /** Processes elements [from, to). */
        void run(int from, int to);
    }

    /** Splits [0, n) into chunks of 16,384 elements and runs them over the pool; element-wise kernels share this. */
    public static void forRanges(int n, Range range) {
        final int chunk = 1 << 14;
        int chunks = (n + chunk - 1) / chunk;
        forEach(chunks, c -> range.run(c * chunk, Math.min(n, (c + 1) * chunk)));
    }

    /**
     * Runs {@code task.accept(i)} for every i in [0, n), spread over the pool, and returns when all are done.
     * Threads take the next index from a shared counter, so a thread that the OS (or a busy neighbour on a shared
     * VM) holds back simply does fewer tasks instead of stalling the others. An exception in any task is
     * rethrown here.
     */
    public static void forEach(int n, IntConsumer task) {
        int workers = Math.min(n, threads());
        if (workers <= 1 || inTask()) {
            for (int i = 0; i < n; i++) {
                task.accept(i);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Future<?>[] futures = new Future<?>[workers - 1];
        for (int w = 1; w < workers; w++) {
            futures[w - 1] = POOL.submit(() -> drain(task, next, n));
        }
        Throwable failure = null;
        try {
            drain(task, next, n);
        } catch (RuntimeException | Error e) {
            failure = e;
            next.set(n);
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                failure = failure == null ? e.getCause() : failure;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Parallel.forEach interrupted", e);
            }
        }
        // As thrown, so that an OutOfMemoryError in a worker reaches the caller as one.
        if (failure instanceof RuntimeException re) {
            throw re;
        }
        if (failure instanceof Error err) {
            throw err;
        }
        if (failure != null) {
            throw new RuntimeException(failure);
        }
    }

    private static void drain(IntConsumer task, AtomicInteger next, int n) {
        boolean outer = IN_TASK.get();
        IN_TASK.set(true);
        try {
            for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                task.accept(i);
            }
        } finally {
            IN_TASK.set(outer);
        }
    }
}
