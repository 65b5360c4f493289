package dev.lora4j.models;

import com.fasterxml.jackson.databind.DatabindException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.io.SafeTensors;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A Hugging Face model directory: config.json and model.safetensors. Loading is a loop over the model's own
 * parameter names; a checkpoint saved from the bare model lacks the head class's prefix ("transformer.",
 * "bert."), so each name is looked up with the prefix and without it.
 */
public final class HfModelDir {
    private static final ObjectMapper JSON = new ObjectMapper();

    private HfModelDir() {
    }

    /**
     * Reads config.json into a config record, whose constructor validates it.
     *
     * @throws IOException if the file is missing, not JSON, or a field is invalid (the message names the field)
     */
    public static <C> C readConfig(Path dir, Class<C> type) throws IOException {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new IOException(dir + ": no config.json; expected a Hugging Face model directory");
        }
        try {
            return JSON.readValue(file.toFile(), type);
        } catch (DatabindException e) {
            Throwable cause = e.getCause() instanceof IllegalArgumentException iae ? iae : e;
            throw new IOException(file + ": " + (cause == e ? e.getOriginalMessage() : cause.getMessage()));
        }
    }

    /**
     * Copies every parameter of {@code model} from dir/model.safetensors. Names are tried as they are and with
     * {@code prefix} removed; names listed in {@code optional} (e.g. a classifier head absent from a bare
     * checkpoint) keep their initial values when missing.
     *
     * @throws IOException if a required weight is missing or has the wrong shape
     */
    public static void loadWeights(Path dir, Module model, String prefix, Set<String> optional) throws IOException {
        Path weights = dir.resolve("model.safetensors");
        SafeTensors.Contents file = SafeTensors.read(weights);
        loadWeights(name -> file.entry(name) == null ? null : file.tensor(name), weights.toString(), model, prefix, optional);
    }

    /**
     * Copies every parameter of {@code model} from {@code weights} (a lookup returning null for absent names),
     * with the naming rules of {@link #loadWeights(Path, Module, String, Set)}; {@code source} names the origin in
     * error messages.
     *
     * @throws IOException if a required weight is missing or has the wrong shape
     */
    public static void loadWeights(Function<String, Tensor> weights, String source, Module model, String prefix,
                                   Set<String> optional) throws IOException {
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            String name = e.getKey();
            String bare = name.startsWith(prefix) ? name.substring(prefix.length()) : name;
            Tensor t = weights.apply(name);
            String key = name;
            if (t == null) {
                t = weights.apply(bare);
                key = bare;
            }
            if (t == null) {
                if (optional.contains(name)) {
                    continue;
                }
                throw new IOException(source + ": missing weight '" + bare + "'"
                        + (bare.equals(name) ? "" : " (also looked for '" + name + "')"));
            }
            if (!t.shape().equals(e.getValue().value().shape())) {
                throw new IOException(source + ": " + key + " is " + t.shape() + ", expected "
                        + e.getValue().value().shape() + " for this config");
            }
            e.getValue().value().copyFrom(t);
        }
    }
}
