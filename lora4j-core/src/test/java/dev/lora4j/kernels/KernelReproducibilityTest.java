package dev.lora4j.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The element-wise and row kernels give the same bits compiled as interpreted: they run here after a warm-up
 * that gets them compiled, and in a second JVM with {@code -Xint}, where the Vector API runs its Java fallbacks;
 * every output must match bit for bit. The Vector API's own EXP and reduceLanes(ADD) fail this.
 */
class KernelReproducibilityTest {
    /** Runs every kernel once on fixed inputs and returns all their outputs, in order. */
    static float[] outputs() {
        Random rng = new Random(11);
        List<float[]> out = new ArrayList<>();
        int rows = 4, cols = 301;
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rng.nextGaussian() * 4);
        }
        float[] soft = x.clone();
        Softmax.forward(soft, rows, cols);
        out.add(soft);
        float[] losses = new float[rows], lse = new float[rows], dlogits = new float[x.length];
        int[] targets = {3, 300, 17, 0};
        out.add(new float[] {(float) CrossEntropy.forward(losses, lse, x, targets, null, rows, cols, 0.1f, -100)});
        CrossEntropy.backward(dlogits, x, lse, targets, null, 0.25f, rows, cols, 0.1f, -100);
        out.add(losses);
        out.add(dlogits);
        for (Gelu.Kind kind : Gelu.Kind.values()) {
            float[] g = new float[x.length], d = new float[x.length];
            Gelu.forwardWithDerivative(kind, g, d, x, x.length);
            out.add(g);
            out.add(d);
        }
        float[] w = new float[cols], b = new float[cols], ln = new float[x.length], dx = new float[x.length];
        for (int c = 0; c < cols; c++) {
            w[c] = 1f + 0.1f * (float) rng.nextGaussian();
            b[c] = 0.1f * (float) rng.nextGaussian();
        }
        float[] mean = new float[rows], rstd = new float[rows], dw = new float[cols], db = new float[cols];
        LayerNormKernels.layerNormForward(ln, mean, rstd, x, w, b, rows, cols, 1e-5f);
        LayerNormKernels.layerNormBackward(dx, dw, db, soft, x, w, mean, rstd, rows, cols);
        out.add(ln);
        out.add(dx);
        out.add(dw);
        out.add(new float[] {VectorOps.dot(x, 0, soft, 0, x.length)});
        int n = 0;
        for (float[] o : out) {
            n += o.length;
        }
        float[] all = new float[n];
        int at = 0;
        for (float[] o : out) {
            System.arraycopy(o, 0, all, at, o.length);
            at += o.length;
        }
        return all;
    }

    /** Writes {@link #outputs()} to the file args[0]: the interpreted side. */
    public static void main(String[] args) throws IOException {
        float[] all = outputs();
        try (DataOutputStream o = new DataOutputStream(Files.newOutputStream(Path.of(args[0])))) {
            o.writeInt(all.length);
            for (float f : all) {
                o.writeInt(Float.floatToRawIntBits(f));
            }
        }
    }

    @Test
    void compiledKernelsGiveTheBitsOfInterpretedOnes(@TempDir Path tmp) throws Exception {
        float[] compiled = null;
        for (int i = 0; i < 3000; i++) {
            compiled = outputs();
        }
        Path file = tmp.resolve("interpreted.bin");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xint",
                "--add-modules", "jdk.incubator.vector", "-Dlora4j.threads=2", "-cp", System.getProperty("java.class.path"),
                KernelReproducibilityTest.class.getName(), file.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the -Xint JVM did not finish");
        assertEquals(0, p.exitValue(), log);
        try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
            assertEquals(compiled.length, in.readInt());
            for (int i = 0; i < compiled.length; i++) {
                float interpreted = Float.intBitsToFloat(in.readInt());
                assertEquals(Float.floatToRawIntBits(interpreted), Float.floatToRawIntBits(compiled[i]),
                        "output " + i + ": interpreted " + interpreted + ", compiled " + compiled[i]);
            }
        }
    }
}
