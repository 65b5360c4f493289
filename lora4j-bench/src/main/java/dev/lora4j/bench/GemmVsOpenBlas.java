package dev.lora4j.bench;

import dev.lora4j.kernels.Gemm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * lora4j's GEMM beside OpenBLAS's {@code cblas_sgemm}, called through the FFM API in the same process and
 * alternated block by block, so that a shared machine's drift (tens of percent within a minute) hits both alike;
 * each row reports the median of the per-round ratios. Prints a markdown table.
 *
 * <p>Usage: {@code GemmVsOpenBlas [--rounds R] [--block-ms T] [--lib PATH] [MxNxK ...]}. OpenBLAS is only the
 * yardstick here: lora4j itself calls no native code.
 */
public final class GemmVsOpenBlas {
    private static final String DEFAULT_LIB = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0";
    private static final List<String> DEFAULT_SHAPES = List.of("512x2304x768", "512x768x768", "512x768x3072", "2048x1536x384");
    private static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

    private GemmVsOpenBlas() {
    }

    public static void main(String[] args) throws Throwable {
        int rounds = 9;
        long blockMs = 300;
        String lib = System.getenv().getOrDefault("LORA4J_OPENBLAS", DEFAULT_LIB);
        List<String> shapes = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--block-ms" -> blockMs = Long.parseLong(args[++i]);
                case "--lib" -> lib = args[++i];
                default -> shapes.add(args[i]);
            }
        }
        if (shapes.isEmpty()) {
            shapes = DEFAULT_SHAPES;
        }
        if (!Files.isReadable(Path.of(lib))) {
            System.err.println("GemmVsOpenBlas: OpenBLAS not found at " + lib
                    + " (install Debian's libopenblas0-pthread, or pass --lib PATH)");
            System.exit(2);
        }
        MethodHandle sgemm = Linker.nativeLinker().downcallHandle(
                SymbolLookup.libraryLookup(Path.of(lib), Arena.global()).find("cblas_sgemm").orElseThrow(),
                FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT,
                        ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT));
        // Compile every path before the first row is timed: a cold first shape read 10-20 points low.
        for (String form : List.of("NN", "NT", "TN")) {
            compare(sgemm, "384x384x384", form, 3, 200, false);
        }
        System.out.println("| M×N×K | form | lora4j GFLOP/s (median) | OpenBLAS GFLOP/s (median) | lora4j / OpenBLAS, median of rounds (quartiles) |");
        System.out.println("|---|---|---:|---:|---:|");
        for (String shape : shapes) {
            for (String form : List.of("NN", "NT", "TN")) {
                compare(sgemm, shape, form, rounds, blockMs, true);
            }
        }
    }

    private static void compare(MethodHandle sgemm, String shape, String form, int rounds, long blockMs, boolean print)
            throws Throwable {
        String[] d = shape.split("x");
        int m = Integer.parseInt(d[0]), n = Integer.parseInt(d[1]), k = Integer.parseInt(d[2]);
        boolean ta = form.charAt(0) == 'T', tb = form.charAt(1) == 'T';
        int lda = ta ? m : k, ldb = tb ? k : n;
        Random r = new Random(1);
        float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextFloat() - 0.5f;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = r.nextFloat() - 0.5f;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment as = arena.allocate(a.length * 4L, 64), bs = arena.allocate(b.length * 4L, 64),
                    cs = arena.allocate(c.length * 4L, 64);
            MemorySegment.copy(a, 0, as, JAVA_FLOAT, 0, a.length);
            MemorySegment.copy(b, 0, bs, JAVA_FLOAT, 0, b.length);
            double flop = 2.0 * m * n * k;
            double[] mine = new double[rounds], theirs = new double[rounds], ratio = new double[rounds];
            for (int round = -2; round < rounds; round++) {      // two warm-up rounds
                double g0 = time(blockMs, flop, () -> Gemm.sgemm(ta, tb, m, n, k, 1f, a, 0, lda, b, 0, ldb, 0f, c, 0, n));
                double g1 = time(blockMs, flop, () -> {
                    try {
                        sgemm.invokeExact(ROW_MAJOR, ta ? TRANS : NO_TRANS, tb ? TRANS : NO_TRANS, m, n, k, 1f,
                                as, lda, bs, ldb, 0f, cs, n);
                    } catch (Throwable e) {
                        throw new IllegalStateException(e);
                    }
                });
                if (round >= 0) {
                    mine[round] = g0;
                    theirs[round] = g1;
                    ratio[round] = g0 / g1;
                }
            }
            Arrays.sort(mine);
            Arrays.sort(theirs);
            Arrays.sort(ratio);
            if (!print) {
                return;
            }
            System.out.printf("| %s | %s | %.0f | %.0f | %.0f%% (%.0f–%.0f%%) |%n", shape.replace("x", "×"), form,
                    mine[rounds / 2], theirs[rounds / 2], 100 * ratio[rounds / 2], 100 * ratio[rounds / 4],
                    100 * ratio[3 * rounds / 4]);
        }
    }

    // GFLOP/s of back-to-back calls for blockMs, after an idle pause that lets OpenBLAS's spinning threads sleep.
    private static double time(long blockMs, double flop, Runnable call) throws InterruptedException {
        Thread.sleep(150);
        long start = System.nanoTime();
        int calls = 0;
        while (System.nanoTime() - start < blockMs * 1_000_000L) {
            call.run();
            calls++;
        }
        return flop * calls / ((System.nanoTime() - start) / 1e9) / 1e9;
    }
}
