package dev.lora4j.bench;

import dev.lora4j.kernels.Gemm;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * GEMM throughput at GPT-2 small and MiniLM training shapes, in the three forms a layer uses:
 * NN (dx = dout·W), NT (y = x·Wᵀ) and TN (dW = doutᵀ·x). GFLOP/s = 2·M·N·K / time;
 * scripts/bench-gemm turns the JMH result into that table next to OpenBLAS.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GemmBenchmark {
    /** M x N x K: GPT-2 c_attn, attn c_proj, mlp c_proj (K = 3072), MiniLM intermediate at 32 x 64 tokens. */
    @Param({"512x2304x768", "512x768x768", "512x768x3072", "2048x1536x384"})
    public String shape;

    @Param({"NN", "NT", "TN"})
    public String form;

    private int m;
    private int n;
    private int k;
    private boolean transA;
    private boolean transB;
    private float[] a;
    private float[] b;
    private float[] c;

    @Setup
    public void setup() {
        String[] dims = shape.split("x");
        m = Integer.parseInt(dims[0]);
        n = Integer.parseInt(dims[1]);
        k = Integer.parseInt(dims[2]);
        transA = form.charAt(0) == 'T';
        transB = form.charAt(1) == 'T';
        Random r = new Random(1);
        a = new float[m * k];
        b = new float[k * n];
        c = new float[m * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextFloat() - 0.5f;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = r.nextFloat() - 0.5f;
        }
    }

    @Benchmark
    public float[] gemm() {
        Gemm.sgemm(transA, transB, m, n, k, 1f, a, 0, transA ? m : k, b, 0, transB ? k : n, 0f, c, 0, n);
        return c;
    }
}
