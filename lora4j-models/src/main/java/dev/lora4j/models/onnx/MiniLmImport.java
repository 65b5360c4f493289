package dev.lora4j.models.onnx;

import dev.lora4j.models.bert.BertConfig;
import dev.lora4j.tensor.Tensor;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Turns a BERT exported to ONNX by PyTorch (as sentence-transformers' all-MiniLM-L6-v2 in Maven Central) back
 * into Hugging Face weight names. Biases, LayerNorms and embeddings keep their names as initializers; each
 * weight matrix is an anonymous {@code onnx::MatMul_N} stored (in, out) and consumed by a MatMul node named
 * after its module ({@code /encoder/layer.0/attention/self/query/MatMul}), so the module path comes from the
 * node name and the matrix is transposed back to torch's (out, in).
 */
public final class MiniLmImport {
    private MiniLmImport() {
    }

    /** all-MiniLM-L6-v2's shape (sentence-transformers/all-MiniLM-L6-v2 config.json). */
    public static BertConfig allMiniLmL6V2Config(int numLabels) {
        return new BertConfig(30522, 384, 6, 12, 1536, 512, 2, "gelu", 1e-12f, 0.1f, numLabels);
    }

    /**
     * Hugging Face-named weights of a BERT graph.
     *
     * @throws IOException if a MatMul weight's node name does not name a module
     */
    public static Map<String, Tensor> huggingFaceWeights(OnnxGraph graph) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        graph.initializers().forEach((name, t) -> {
            if (!name.startsWith("onnx::")) {
                out.put(name, t);
            }
        });
        for (OnnxGraph.Node node : graph.nodes()) {
            if (!node.opType().equals("MatMul")) {
                continue;
            }
            for (String input : node.inputs()) {
                Tensor w = graph.initializers().get(input);
                if (w == null || !input.startsWith("onnx::")) {
                    continue;
                }
                String path = node.name();
                if (!path.startsWith("/") || !path.endsWith("/MatMul")) {
                    throw new IOException("ONNX MatMul node '" + path + "' does not name a module (expected /module/path/MatMul)");
                }
                String module = path.substring(1, path.length() - "/MatMul".length()).replace('/', '.');
                out.put(module + ".weight", w.transpose(0, 1).contiguous());
            }
        }
        return out;
    }
}
