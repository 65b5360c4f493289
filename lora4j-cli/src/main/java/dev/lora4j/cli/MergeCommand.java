package dev.lora4j.cli;

import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.PeftAdapter;
import dev.lora4j.lora.loralib.LoraLib;
import dev.lora4j.lora.loralib.LoralibAdapter;
import dev.lora4j.models.AutoModel;
import dev.lora4j.models.HfModelDir;
import dev.lora4j.nn.Module;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Merges a PEFT adapter into its base model and writes a complete Hugging Face directory: weights W0 + ΔW under
 * the base checkpoint's own names and dtypes, config and tokenizer files copied.
 */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Merge a LoRA adapter into its base model and write a plain Hugging Face model directory.")
final class MergeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "The base model directory.")
    Path model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "The adapter directory: PEFT (adapter_config.json + adapter_model.safetensors) or loralib (train --enable-lora).")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Where the merged model goes.")
    Path out;

    @Option(names = "--safe", description = "Check the merged weights for NaN/Inf before writing.")
    boolean safe;

    @Override
    public Integer call() throws IOException {
        if (out.toAbsolutePath().normalize().equals(model.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("--out: must differ from --model (" + model + ")");
        }
        AutoModel.Loaded base = AutoModel.load(model.toString(), 2, 0);
        int targets;
        Module merged;
        if (LoralibAdapter.isIn(adapter)) {
            LoralibAdapter.load(base.model(), adapter);
            targets = LoraLib.mergeAndUnload(base.model(), safe);
            merged = base.model();
        } else {
            LoraModel lora = PeftAdapter.load(base.model(), adapter);
            targets = lora.targets(lora.activeAdapter()).size();
            merged = lora.mergeAndUnload(safe, null);
        }
        HfModelDir.copyAllButWeights(model, out);
        List<String> skipped = AutoModel.writeWeightsLike(model, merged, base.prefix(), out);
        System.out.printf("merged %d LoRA layers of %s into %s%n", targets, adapter, out.resolve("model.safetensors"));
        if (!skipped.isEmpty()) {
            System.out.println("left out integer buffers transformers rebuilds: " + skipped);
        }
        return 0;
    }
}
