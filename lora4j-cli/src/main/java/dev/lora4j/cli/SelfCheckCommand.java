package dev.lora4j.cli;

import dev.lora4j.kernels.Gelu;
import dev.lora4j.kernels.Gemm;
import dev.lora4j.kernels.Parallel;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.GeluActivation;
import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Sequential;
import dev.lora4j.optim.AdamW;
import dev.lora4j.optim.GradClip;
import dev.lora4j.optim.LrSchedule;
import dev.lora4j.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * A quick self-check of the numerical core on this machine:
 * the packed GEMM against its scalar twin, then a small network trained end to end with the training loop's
 * pieces (AdamW, warmup + linear decay, clipping), which must learn a task it cannot solve linearly.
 */
@Command(name = "selfcheck", mixinStandardHelpOptions = true,
        description = "Run the built-in self-check: verify the GEMM kernel and train a small network end to end.")
final class SelfCheckCommand implements Callable<Integer> {
    @Option(names = "--steps", defaultValue = "400", description = "Training steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--seed", defaultValue = "7", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() {
        if (steps <= 0) {
            throw new IllegalArgumentException("--steps must be positive, got " + steps);
        }
        PrintStream out = System.out;
        out.printf("lora4j self-check on %d threads%n", Parallel.threads());
        float gemmError = checkGemm();
        out.printf("  GEMM (NT, 67x45x129) vs scalar reference: max |diff| = %.2e%n", gemmError);
        float accuracy = trainRings(out);
        boolean ok = gemmError < 1e-3f && accuracy >= 0.95f;
        out.printf("%s: held-out accuracy %.1f%% (needs >= 95%%)%n", ok ? "self-check passed" : "SELF-CHECK FAILED", 100 * accuracy);
        return ok ? 0 : 1;
    }

    private float checkGemm() {
        Random r = new Random(seed);
        int M = 67, N = 45, K = 129;
        float[] a = new float[M * K];
        float[] b = new float[N * K];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextFloat() - 0.5f;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = r.nextFloat() - 0.5f;
        }
        float[] fast = new float[M * N];
        float[] slow = new float[M * N];
        Gemm.sgemm(false, true, M, N, K, 1f, a, 0, K, b, 0, K, 0f, fast, 0, N);
        Gemm.gemmScalar(M, N, K, 1f, Gemm.f32(a, 0, K, false), Gemm.f32(b, 0, K, true), 0f, slow, 0, N);
        float worst = 0;
        for (int i = 0; i < fast.length; i++) {
            worst = Math.max(worst, Math.abs(fast[i] - slow[i]));
        }
        return worst;
    }

    /** Two concentric rings: class = which ring a 2-D point lies on. Not linearly separable. */
    private static void rings(Random r, float[] x, int[] y, int n) {
        for (int i = 0; i < n; i++) {
            int label = r.nextInt(2);
            double radius = (label == 0 ? 1.0 : 2.0) + 0.25 * r.nextGaussian();
            double angle = 2 * Math.PI * r.nextDouble();
            x[2 * i] = (float) (radius * Math.cos(angle));
            x[2 * i + 1] = (float) (radius * Math.sin(angle));
            y[i] = label;
        }
    }

    private float trainRings(PrintStream out) {
        Random data = new Random(seed);
        Sequential model = new Sequential(new Linear(2, 64, true, seed), new GeluActivation(Gelu.Kind.TANH),
                new Linear(64, 2, true, seed + 1));
        CrossEntropyLoss lossFn = new CrossEntropyLoss();
        AdamW optimizer = new AdamW(model.trainableParameters(), 0.9f, 0.999f, 1e-8f, 0.01f);
        LrSchedule schedule = LrSchedule.linearWarmupDecay(2e-2f, steps / 10, steps);
        int batch = 128;
        float[] xb = new float[batch * 2];
        int[] yb = new int[batch];
        long start = System.nanoTime();
        out.printf("  training a 2-64-2 GELU network on two rings: %d steps, batch %d, AdamW, warmup + linear decay%n", steps, batch);
        for (int step = 0; step < steps; step++) {
            rings(data, xb, yb, batch);
            model.zeroGrad();
            float loss = lossFn.forward(model.forward(Tensor.of(xb, batch, 2)), yb, null);
            model.backward(lossFn.backward(1f));
            float norm = GradClip.byGlobalNorm(model.trainableParameters(), 1f);
            float lr = schedule.learningRate(step);
            optimizer.step(lr);
            if (step % Math.max(1, steps / 8) == 0 || step == steps - 1) {
                double seconds = (System.nanoTime() - start) / 1e9;
                out.printf("  step %4d/%d  loss %.4f  lr %.2e  grad-norm %.3f  %.0f examples/s%n", step + 1, steps, loss, lr,
                        norm, (step + 1) * batch / Math.max(seconds, 1e-9));
            }
        }
        model.eval();
        int n = 2000;
        float[] xt = new float[n * 2];
        int[] yt = new int[n];
        rings(new Random(seed + 99), xt, yt, n);
        float[] logits = model.forward(Tensor.of(xt, n, 2)).toFloatArray();
        int correct = 0;
        for (int i = 0; i < n; i++) {
            int predicted = logits[2 * i + 1] > logits[2 * i] ? 1 : 0;
            if (predicted == yt[i]) {
                correct++;
            }
        }
        return (float) correct / n;
    }
}
