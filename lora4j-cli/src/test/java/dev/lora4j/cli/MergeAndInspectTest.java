package dev.lora4j.cli;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.PeftAdapter;
import dev.lora4j.models.gpt2.Gpt2Config;
import dev.lora4j.models.gpt2.Gpt2LmHeadModel;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `lora4j merge` and `lora4j inspect` on a small random GPT-2 written as a Hugging Face directory. */
class MergeAndInspectTest {
    @TempDir
    Path tmp;

    private static final int[] IDS = {1, 5, 9, 2, 7, 3, 3, 11};

    private Path tinyGpt2() throws Exception {
        Path dir = tmp.resolve("base");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), """
                {"model_type": "gpt2", "vocab_size": 13, "n_positions": 8, "n_embd": 8, "n_layer": 2, "n_head": 2,
                 "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5}""");
        Files.writeString(dir.resolve("tokenizer.json"), "{}");
        Gpt2LmHeadModel model = new Gpt2LmHeadModel(new Gpt2Config(13, 8, 8, 2, 2, null, "gelu_new", 1e-5f, 0f, 0f, null), 3);
        Map<String, Tensor> weights = new LinkedHashMap<>();
        model.namedParameters().forEach((n, p) -> weights.put(n.substring("transformer.".length()), p.value()));
        SafeTensors.write(dir.resolve("model.safetensors"), weights, Map.of("format", "pt"));
        return dir;
    }

    private static int run(String... args) {
        CommandLine cmd = Lora4j.commandLine();
        cmd.setErr(new PrintWriter(new StringWriter()));
        return cmd.execute(args);
    }

    @Test
    void mergeWritesAHuggingFaceDirectoryWithTheAdaptersOutput() throws Exception {
        Path base = tinyGpt2();
        Gpt2LmHeadModel model = Gpt2LmHeadModel.load(base);
        LoraModel lora = LoraModel.inject(model, LoraConfig.builder().r(2).loraAlpha(4).targetModules("c_attn", "c_fc")
                .fanInFanOut(true).initLoraWeights(LoraConfig.InitLoraWeights.RANDOM).build(), 9);
        Path adapter = tmp.resolve("adapter");
        PeftAdapter.save(lora, adapter);
        model.eval();
        Tensor expected = model.forward(IDS, 2, 4).copy();

        Path out = tmp.resolve("merged");
        assertEquals(0, run("merge", "--model", base.toString(), "--adapter", adapter.toString(), "--out", out.toString(), "--safe"));
        assertTrue(Files.exists(out.resolve("tokenizer.json")));
        assertEquals(SafeTensors.read(base.resolve("model.safetensors")).names(), SafeTensors.read(out.resolve("model.safetensors")).names());
        Gpt2LmHeadModel merged = Gpt2LmHeadModel.load(out);
        merged.eval();
        assertClose(expected, merged.forward(IDS, 2, 4), 1e-5f, 1e-5f);
    }

    @Test
    void mergeRefusesAnAdapterThatDoesNotFit() throws Exception {
        Path base = tinyGpt2();
        Path adapter = tmp.resolve("adapter");
        Files.createDirectories(adapter);
        Files.writeString(adapter.resolve("adapter_config.json"), "{\"r\": 2, \"target_modules\": [\"q_proj\"]}");
        CommandLine cmd = Lora4j.commandLine();
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err));
        assertEquals(1, cmd.execute("merge", "--model", base.toString(), "--adapter", adapter.toString(), "--out", tmp.resolve("m").toString()));
        assertTrue(err.toString().startsWith("lora4j merge: " + adapter.resolve("adapter_config.json") + ": Target modules [q_proj] not found"), err.toString());
    }

    @Test
    void inspectPrintsTreesAndTheTrainableLine() throws Exception {
        Path base = tinyGpt2();
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        try {
            assertEquals(0, run("inspect", base.toString(), "--lora", "r=2,alpha=4,targets=c_attn"));
        } finally {
            System.setOut(saved);
        }
        String text = buf.toString();
        assertTrue(text.contains("(c_attn): lora.Conv1D("), text);
        // base: wte 104 + wpe 64 + ln_f 16 + 2 × (ln 32 + c_attn 216 + c_proj 72 + c_fc 288 + mlp.c_proj 264) = 1928;
        // LoRA on c_attn: 2 × (2·8 + 24·2) = 128
        assertTrue(text.contains("trainable params: 128 || all params: 2,056 || trainable%: 6.2257"), text);
    }
}
