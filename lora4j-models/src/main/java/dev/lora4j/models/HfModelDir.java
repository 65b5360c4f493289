package dev.lora4j.models;

import com.fasterxml.jackson.databind.DatabindException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.io.SafeTensors;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Shape;
import dev.lora4j.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

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
        Weights weights = openWeights(dir);
        loadWeights(weights, weights.source(), model, prefix, optional);
    }

    /**
     * Builds a model with {@code construct} and loads dir's weights into it (see
     * {@link #loadWeights(Path, Module, String, Set)}). When the checkpoint holds every optional weight too, the
     * model is built without random initialisation ({@link Init#skipping}), since the load overwrites all of it;
     * otherwise the parameters left missing keep their random initial values, as transformers does.
     *
     * @throws IOException if a required weight is missing or has the wrong shape
     */
    public static <M extends Module> M load(Path dir, String prefix, Set<String> optional, Supplier<M> construct) throws IOException {
        Weights weights = openWeights(dir);
        boolean complete = optional.stream().allMatch(name -> keyOf(weights, name, prefix) != null);
        M model = complete ? Init.skipping(construct) : construct.get();
        loadWeights(weights, weights.source(), model, prefix, optional);
        return model;
    }

    /**
     * Copies every file of {@code from} except the weights (config, tokenizer, model card) into {@code to}, each
     * atomically: the start of a new directory whose weights are written afterwards.
     */
    public static void copyAllButWeights(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (java.util.stream.Stream<Path> files = Files.list(from)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String name = f.getFileName().toString();
                if (!name.endsWith(".safetensors") && !name.equals(INDEX_FILE)) {
                    dev.lora4j.io.AtomicFiles.write(to.resolve(name), Files.readAllBytes(f));
                }
            }
        }
    }

    /**
     * Writes every parameter of {@code model} under its own (Hugging Face) name into dir/model.safetensors in
     * {@code dtype} (float32, or bf16/f16 to halve the file), atomically.
     */
    public static void saveWeights(Module model, dev.lora4j.tensor.DType dtype, Path dir) throws IOException {
        Map<String, Tensor> weights = new java.util.LinkedHashMap<>();
        model.namedParameters().forEach((n, p) -> weights.put(n, p.value().dtype() == dtype ? p.value() : p.value().to(dtype)));
        SafeTensors.write(dir.resolve(WEIGHTS_FILE), weights, Map.of("format", "pt"));
    }

    /** The single weights file's name. */
    public static final String WEIGHTS_FILE = "model.safetensors";
    /** The index of a sharded checkpoint, as transformers writes it. */
    public static final String INDEX_FILE = "model.safetensors.index.json";

    /**
     * A directory's weights: model.safetensors, or the shards listed in model.safetensors.index.json's
     * {@code weight_map}.
     *
     * @param shards the files by name, in the order first listed
     * @param owner  which file holds each tensor
     * @param index  the index file, or null for a single file
     * @param source the index or the single file, for messages
     */
    public record Weights(Map<String, SafeTensors.Contents> shards, Map<String, String> owner, Path index, String source)
            implements WeightSource {
        /** The tensor called {@code name}, or null if no file holds it. */
        public Tensor tensor(String name) {
            String file = owner.get(name);
            return file == null ? null : shards.get(file).tensor(name);
        }

        @Override
        public Shape shape(String name) {
            String file = owner.get(name);
            return file == null ? null : Shape.of(shards.get(file).entry(name).shape());
        }

        @Override
        public void copyInto(String name, Tensor dst) {
            shards.get(owner.get(name)).copyInto(name, dst);
        }

        @Override
        public Tensor mapped(String name) {
            return shards.get(owner.get(name)).mapped(name);
        }
    }

    /**
     * Opens a directory's weights (memory is read as each tensor is asked for).
     *
     * @throws IOException naming the file if there is no weights file, the index is malformed, a shard is missing,
     *                     or a shard lacks a tensor the index assigns to it
     */
    public static Weights openWeights(Path dir) throws IOException {
        Path index = dir.resolve(INDEX_FILE);
        Map<String, SafeTensors.Contents> shards = new java.util.LinkedHashMap<>();
        Map<String, String> owner = new java.util.LinkedHashMap<>();
        if (Files.isRegularFile(index)) {
            com.fasterxml.jackson.databind.JsonNode map;
            try {
                map = JSON.readTree(index.toFile()).get("weight_map");
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IOException(index + ": not valid JSON: " + e.getOriginalMessage());
            }
            if (map == null || !map.isObject()) {
                throw new IOException(index + ": no \"weight_map\" object of tensor names to shard files");
            }
            for (Map.Entry<String, com.fasterxml.jackson.databind.JsonNode> e : map.properties()) {
                String file = e.getValue().asText();
                if (!shards.containsKey(file)) {
                    Path shard = dir.resolve(file);
                    if (!Files.isRegularFile(shard)) {
                        throw new IOException(index + ": shard '" + file + "' (for " + e.getKey() + ") not found");
                    }
                    shards.put(file, SafeTensors.read(shard));
                }
                if (shards.get(file).entry(e.getKey()) == null) {
                    throw new IOException(index + ": '" + e.getKey() + "' is mapped to " + file + ", which does not hold it");
                }
                owner.put(e.getKey(), file);
            }
            return new Weights(shards, owner, index, index.toString());
        }
        Path single = dir.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(single)) {
            throw new IOException(dir + ": no " + WEIGHTS_FILE + " or " + INDEX_FILE);
        }
        SafeTensors.Contents contents = SafeTensors.read(single);
        shards.put(WEIGHTS_FILE, contents);
        contents.names().forEach(n -> owner.put(n, WEIGHTS_FILE));
        return new Weights(shards, owner, null, single.toString());
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
        loadWeights(new WeightSource() {
            @Override
            public Shape shape(String name) {
                Tensor t = weights.apply(name);
                return t == null ? null : t.shape();
            }

            @Override
            public void copyInto(String name, Tensor dst) {
                dst.copyFrom(weights.apply(name));
            }
        }, source, model, prefix, optional);
    }

    /** A checkpoint's tensors by name, as the loaders read them. */
    public interface WeightSource {
        /** The shape of tensor {@code name}, or null if there is none. */
        Shape shape(String name);

        /** Copies tensor {@code name} into {@code dst} (a float32 tensor of its shape). */
        void copyInto(String name, Tensor dst);

        /** Tensor {@code name} read in place (float32 in a file mapping), or null where that is not possible. */
        default Tensor mapped(String name) {
            return null;
        }
    }

    // The checkpoint's name for parameter `name`: as it is, else without `prefix`; null if it has neither.
    private static String keyOf(WeightSource weights, String name, String prefix) {
        if (weights.shape(name) != null) {
            return name;
        }
        String bare = name.startsWith(prefix) ? name.substring(prefix.length()) : name;
        return weights.shape(bare) != null ? bare : null;
    }

    private static void loadWeights(WeightSource weights, String source, Module model, String prefix,
                                    Set<String> optional) throws IOException {
        for (Map.Entry<String, Parameter> e : model.namedParameters().entrySet()) {
            String name = e.getKey();
            String bare = name.startsWith(prefix) ? name.substring(prefix.length()) : name;
            String key = keyOf(weights, name, prefix);
            if (key == null) {
                if (optional.contains(name)) {
                    continue;
                }
                throw new IOException(source + ": missing weight '" + bare + "'"
                        + (bare.equals(name) ? "" : " (also looked for '" + name + "')"));
            }
            Shape t = weights.shape(key);
            if (!t.equals(e.getValue().value().shape())) {
                throw new IOException(source + ": " + key + " is " + t + ", expected "
                        + e.getValue().value().shape() + " for this config");
            }
            // Matrices stored as float32 stay in the file's mapping (nothing copied until something writes them);
            // vectors, which the kernels read as arrays, and other dtypes are copied.
            Tensor inPlace = t.rank() >= 2 ? weights.mapped(key) : null;
            if (inPlace != null) {
                e.getValue().setValue(inPlace);
            } else {
                weights.copyInto(key, e.getValue().value());
            }
        }
    }
}
