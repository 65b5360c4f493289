package dev.lora4j.spark;

import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One copy of a base model's frozen weights per executor JVM. The tasks of an executor each build their own model
 * (own LoRA layers, activations and gradients), then hand their frozen parameters over to the tensors the first
 * task of that base left here, so a 500 MB base costs 500 MB per executor, not per task — and the kernels' packed
 * copies of those weights are shared with them. Only frozen parameters with equal contents are shared; a
 * trainable one (LoRA, a bias under bias="all", a modules_to_save copy) always stays the task's own.
 */
final class SharedBase {
    private static final Map<String, Entry> BASES = new HashMap<>();

    private record Entry(String version, Map<String, Tensor> weights) {
    }

    private SharedBase() {
    }

    /**
     * Replaces {@code net}'s frozen parameters by this executor's shared tensors for {@code source}, registering
     * them on first use; returns how many parameters now share.
     */
    static int share(String source, Module net) {
        String version = version(source);
        Map<String, Tensor> shared;
        synchronized (BASES) {
            Entry e = BASES.get(source);
            if (e == null || !e.version().equals(version)) {
                e = new Entry(version, new HashMap<>());
                BASES.put(source, e);
            }
            shared = e.weights();
        }
        int n = 0;
        synchronized (shared) {
            for (Map.Entry<String, Parameter> p : net.namedParameters().entrySet()) {
                if (p.getValue().requiresGrad()) {
                    continue;
                }
                Tensor mine = p.getValue().value();
                Tensor theirs = shared.putIfAbsent(p.getKey(), mine);
                if (theirs == null || theirs == mine) {
                    n++;
                } else if (sameContents(theirs, mine)) {
                    p.getValue().setValue(theirs);
                    n++;
                }
            }
        }
        return n;
    }

    // A base rewritten in place between two jobs must not be served from the old copy.
    private static String version(String source) {
        Path dir = Path.of(source);
        if (!Files.isDirectory(dir)) {
            return source;
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".safetensors")).sorted()
                    .map(f -> f.getFileName() + "@" + f.toFile().lastModified() + ":" + f.toFile().length())
                    .reduce("", String::concat);
        } catch (IOException e) {
            return source;
        }
    }

    private static boolean sameContents(Tensor a, Tensor b) {
        if (!a.shape().equals(b.shape()) || a.dtype() != b.dtype()) {
            return false;
        }
        return a.dtype().isHalf() ? java.util.Arrays.equals(a.halfData(), b.halfData())
                : java.util.Arrays.equals(a.toFloatArray(), b.toFloatArray());
    }
}
