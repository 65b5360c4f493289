package dev.lora4j.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
        KernelWorkload workload = new KernelWorkload();
        workload.run();
        return workload.outputs();
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
