package dev.lora4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.io.AtomicFiles;
import dev.lora4j.io.PythonJson;
import dev.lora4j.io.SafeTensors;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.PeftAdapter;
import dev.lora4j.lora.loralib.LoralibAdapter;
import dev.lora4j.models.HfModelDir;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.optim.AdamW;
import dev.lora4j.tensor.DType;
import dev.lora4j.tensor.Tensor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A resumable training checkpoint, one directory: the adapter in PEFT's format (or, for full fine-tuning,
 * every weight in {@code model.safetensors} under the model's names), {@code optimizer.safetensors}
 * (AdamW's moments under {@code exp_avg.<parameter>} / {@code exp_avg_sq.<parameter>}) and
 * {@code trainer_state.json} (global_step, best metric). The directory is assembled under a temporary name and
 * renamed into place, so a crash leaves either the previous checkpoint or the new one, never half of one.
 */
public final class Checkpoint {
    /** Optimizer state file. */
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    /** Trainer state file. */
    public static final String STATE_FILE = "trainer_state.json";

    private Checkpoint() {
    }

    /**
     * What a checkpoint records beside the weights.
     *
     * @param globalStep  optimizer steps taken
     * @param bestMetric  best validation metric so far (NaN if none)
     * @param bestStep    the step that reached it (-1 if none)
     */
    public record State(long globalStep, double bestMetric, long bestStep) {
    }

    /** Full fine-tuning's weights file. */
    public static final String MODEL_FILE = HfModelDir.WEIGHTS_FILE;

    /**
     * Writes a checkpoint into {@code dir} atomically: {@code lora}'s active adapter, or all of {@code model}'s
     * weights when {@code lora} is null, and the optimizer's state.
     */
    public static void save(Path dir, Module model, LoraModel lora, AdamW optimizer, State state) throws IOException {
        save(dir, model, lora != null ? peft(lora) : full(model), optimizer, state);
    }

    /** The weights a checkpoint holds, written into and read back from its directory. */
    public interface Weights {
        /** Writes the weights into {@code dir}. */
        void write(Path dir) throws IOException;

        /** Restores the weights from {@code dir}. @throws IOException naming the file if they do not fit */
        void read(Path dir) throws IOException;
    }

    /** The active adapter of {@code lora}, in PEFT's format. */
    public static Weights peft(LoraModel lora) {
        return new Weights() {
            public void write(Path dir) throws IOException {
                PeftAdapter.save(lora, lora.activeAdapter(), dir);
            }

            public void read(Path dir) throws IOException {
                PeftAdapter.loadWeights(lora, lora.activeAdapter(), dir.resolve(PeftAdapter.WEIGHTS_FILE));
            }
        };
    }

    /** Every weight of {@code model} (full fine-tuning), in {@value #MODEL_FILE}. */
    public static Weights full(Module model) {
        return new Weights() {
            public void write(Path dir) throws IOException {
                HfModelDir.saveWeights(model, DType.F32, dir);          // every weight trains, so all are float32
            }

            public void read(Path dir) throws IOException {
                SafeTensors.Contents weights = SafeTensors.read(dir.resolve(MODEL_FILE));
                for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
                    if (weights.entry(e.getKey()) == null) {
                        throw new IOException(dir.resolve(MODEL_FILE) + ": missing weight '" + e.getKey() + "'");
                    }
                    e.getValue().value().copyFrom(weights.tensor(e.getKey()));
                }
            }
        };
    }

    /** loralib MergedLinear layers already injected into {@code model} as {@code spec} says. */
    public static Weights loralib(Module model, LoralibAdapter.Spec spec) {
        return new Weights() {
            public void write(Path dir) throws IOException {
                LoralibAdapter.save(model, spec, dir);
            }

            public void read(Path dir) throws IOException {
                LoralibAdapter.loadWeights(model, spec, dir.resolve(LoralibAdapter.WEIGHTS_FILE));
            }
        };
    }

    /** Writes a checkpoint of {@code weights} and the optimizer's state into {@code dir} atomically. */
    public static void save(Path dir, Module model, Weights weights, AdamW optimizer, State state) throws IOException {
        Path tmp = AtomicFiles.temporaryDirectoryBeside(dir);
        try {
            weights.write(tmp);
            Map<String, Tensor> moments = new LinkedHashMap<>();
            Map<Parameter, String> names = parameterNames(model);
            List<Parameter> params = optimizer.parameters();
            for (int i = 0; i < params.size(); i++) {
                String name = names.get(params.get(i));
                moments.put("exp_avg." + name, Tensor.of(optimizer.firstMoments()[i].clone(), optimizer.firstMoments()[i].length));
                moments.put("exp_avg_sq." + name, Tensor.of(optimizer.secondMoments()[i].clone(), optimizer.secondMoments()[i].length));
            }
            SafeTensors.write(tmp.resolve(OPTIMIZER_FILE), moments, Map.of("step", Long.toString(optimizer.stepCount())));
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("global_step", state.globalStep());
            json.put("best_metric", Double.isNaN(state.bestMetric()) ? null : state.bestMetric());
            json.put("best_step", state.bestStep());
            AtomicFiles.write(tmp.resolve(STATE_FILE), PythonJson.dumps(json).getBytes(StandardCharsets.UTF_8));
            deleteTree(dir);
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, dir);
            }
        } finally {
            deleteTree(tmp);
        }
    }

    /**
     * Restores a checkpoint into a model that already has the same adapter injected (or, with {@code lora}
     * null, into all of the model's weights) and into {@code optimizer}; returns the recorded state.
     *
     * @throws IOException naming the file if something is missing or does not match the model
     */
    public static State load(Path dir, Module model, LoraModel lora, AdamW optimizer) throws IOException {
        return load(dir, model, lora != null ? peft(lora) : full(model), optimizer);
    }

    /** Restores {@code weights} and {@code optimizer} from a checkpoint; returns the recorded state. */
    public static State load(Path dir, Module model, Weights weights, AdamW optimizer) throws IOException {
        Path stateFile = dir.resolve(STATE_FILE);
        if (!Files.isRegularFile(stateFile)) {
            throw new IOException(dir + ": not a lora4j checkpoint (no " + STATE_FILE + ")");
        }
        JsonNode s = new ObjectMapper().readTree(stateFile.toFile());
        State state = new State(s.path("global_step").asLong(), s.path("best_metric").isNumber() ? s.get("best_metric").asDouble() : Double.NaN,
                s.path("best_step").asLong(-1));
        weights.read(dir);
        SafeTensors.Contents moments = SafeTensors.read(dir.resolve(OPTIMIZER_FILE));
        Map<Parameter, String> names = parameterNames(model);
        List<Parameter> params = optimizer.parameters();
        for (int i = 0; i < params.size(); i++) {
            String name = names.get(params.get(i));
            for (String kind : List.of("exp_avg.", "exp_avg_sq.")) {
                if (moments.entry(kind + name) == null) {
                    throw new IOException(dir.resolve(OPTIMIZER_FILE) + ": missing '" + kind + name + "'");
                }
                float[] src = moments.tensor(kind + name).toFloatArray();
                float[] dst = kind.equals("exp_avg.") ? optimizer.firstMoments()[i] : optimizer.secondMoments()[i];
                if (src.length != dst.length) {
                    throw new IOException(dir.resolve(OPTIMIZER_FILE) + ": '" + kind + name + "' has " + src.length
                            + " values, the parameter has " + dst.length);
                }
                System.arraycopy(src, 0, dst, 0, dst.length);
            }
        }
        optimizer.setStepCount(Long.parseLong(moments.metadata().getOrDefault("step", Long.toString(state.globalStep()))));
        return state;
    }

    private static Map<Parameter, String> parameterNames(Module model) {
        Map<Parameter, String> out = new IdentityHashMap<>();
        model.namedParameters().forEach((n, p) -> out.put(p, n));
        return out;
    }

    /** Deletes a directory tree if it exists. */
    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
