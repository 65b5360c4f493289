package dev.lora4j.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * The one thread pool every kernel shares: a fixed set of daemon threads, one per core unless the system
 * property {@code lora4j.threads} says otherwise.
 *
 * <p>A kernel splits its work into {@code n} independent tasks and calls {@link #forEach}; the calling thread
 * takes tasks too. A call made from inside a task runs inline, so kernels may call other kernels freely
 * (attention runs its per-head GEMMs single-threaded inside a parallel loop over heads), and so does a call made
 * while another thread's call holds the pool.
 *
 * <p>A training step makes hundreds of calls, many of them a fraction of a millisecond long. Waking a parked
 * thread on this kind of VM costs tens of microseconds each way, so the workers spin for a while after a call
 * before they park, and the caller spins before it waits for them (as OpenBLAS's threads do).
 */
public final class Parallel {
    private static final int THREADS = Integer.getInteger("lora4j.threads", Runtime.getRuntime().availableProcessors());
    /** How long an idle thread spins, looking for work, before it parks. */
    private static final long SPIN_NANOS = Long.getLong("lora4j.spinMicros", 200) * 1000;
    private static final ThreadLocal<Boolean> IN_TASK = ThreadLocal.withInitial(() -> false);
    private static final Worker[] WORKERS = new Worker[Math.max(0, THREADS - 1)];
    /** The call the workers help with, or null: one at a time, taken by compare-and-set. */
    private static final AtomicReference<Job> CURRENT = new AtomicReference<>();
    private static final AtomicLong JOBS = new AtomicLong();

    static {
        for (int w = 0; w < WORKERS.length; w++) {
            WORKERS[w] = new Worker();
            Thread t = new Thread(WORKERS[w], "lora4j-kernel-" + (w + 1));
            t.setDaemon(true);
            WORKERS[w].thread = t;
            t.start();
        }
    }

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

    /** The most elements {@link #forRanges} hands one call of its range. */
    public static final int RANGE_CHUNK = 1 << 14;

    /** Splits [0, n) into chunks of {@link #RANGE_CHUNK} elements and runs them over the pool; element-wise kernels share this. */
    public static void forRanges(int n, Range range) {
        int chunks = (n + RANGE_CHUNK - 1) / RANGE_CHUNK;
        forEach(chunks, c -> range.run(c * RANGE_CHUNK, Math.min(n, (c + 1) * RANGE_CHUNK)));
    }

    /**
     * Runs {@code task.accept(i)} for every i in [0, n), spread over the pool, and returns when all are done.
     * Threads take the next index from a shared counter, so a thread that the OS (or a busy neighbour on a shared
     * VM) holds back simply does fewer tasks instead of stalling the others. An exception in any task is
     * rethrown here, as thrown.
     */
    public static void forEach(int n, IntConsumer task) {
        Job job = n > 1 && WORKERS.length > 0 && !inTask() ? new Job(task, n, Thread.currentThread()) : null;
        if (job == null || !CURRENT.compareAndSet(null, job)) {
            boolean outer = IN_TASK.get();
            IN_TASK.set(true);
            try {
                for (int i = 0; i < n; i++) {
                    task.accept(i);
                }
            } finally {
                IN_TASK.set(outer);
            }
            return;
        }
        try {
            for (Worker w : WORKERS) {
                if (w.sleeping) {
                    LockSupport.unpark(w.thread);
                }
            }
            job.help();
            job.awaitHelpers();
        } finally {
            CURRENT.set(null);
        }
        Throwable failure = job.failure.get();
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

    /** One forEach call: its tasks, the next index to take and the threads still working on it. */
    private static final class Job {
        final IntConsumer task;
        final int n;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger helpers = new AtomicInteger();   // workers inside help()
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final long id = JOBS.incrementAndGet();
        volatile boolean callerParked;

        Job(IntConsumer task, int n, Thread caller) {
            this.task = task;
            this.n = n;
            this.caller = caller;
        }

        // Takes tasks until none are left. A failure stops the others from starting new ones.
        void help() {
            boolean outer = IN_TASK.get();
            IN_TASK.set(true);
            try {
                for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                    task.accept(i);
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
                next.set(n);
            } finally {
                IN_TASK.set(outer);
            }
        }

        // A worker joins before it takes an index, so once the caller has run out of indices, helpers == 0 means
        // every task taken has finished; a worker that joins later finds no index left.
        void helpAsWorker() {
            helpers.incrementAndGet();
            try {
                help();
            } finally {
                if (helpers.decrementAndGet() == 0 && callerParked) {
                    LockSupport.unpark(caller);
                }
            }
        }

        void awaitHelpers() {
            long start = System.nanoTime();
            while (helpers.get() != 0) {
                if (System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                    continue;
                }
                callerParked = true;
                if (helpers.get() != 0) {
                    LockSupport.parkNanos(this, 1_000_000);
                }
            }
        }
    }

    /** A pool thread: spins on {@link #CURRENT} for a while after each job, then parks until the next. */
    private static final class Worker implements Runnable {
        Thread thread;
        volatile boolean sleeping;

        @Override
        public void run() {
            // The last job's id rather than the job, which would keep its task, and whatever that holds, alive
            long last = 0;
            long idleSince = System.nanoTime();
            while (true) {
                Job job = CURRENT.get();
                if (job != null && job.id != last) {
                    last = job.id;
                    job.helpAsWorker();
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    sleeping = true;
                    Job now = CURRENT.get();
                    if (now == null || now.id == last) {
                        LockSupport.park(this);
                        Thread.interrupted();   // an interrupt would otherwise make every later park return at once
                    }
                    sleeping = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }
}
