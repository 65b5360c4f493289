package dev.lora4j.cli;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.models.AutoModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;

/** Prints a model's module tree before and after LoRA injection, and PEFT's trainable-parameter line. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show a model's module tree, and with --lora the tree after injection and its trainable parameters.")
final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "A Hugging Face model directory, or " + AutoModel.BUILTIN_MINILM + ".")
    String model;

    @Option(names = "--lora", paramLabel = "SPEC", description = "LoRA settings, e.g. r=8,alpha=16,targets=query|value (keys: r, alpha, dropout, targets, exclude, bias, modules_to_save, init, rslora, dora, edora).")
    String lora;

    @Option(names = "--num-labels", defaultValue = "2", description = "Classes of a sequence-classification head (default: ${DEFAULT-VALUE}).")
    int numLabels;

    @Override
    public Integer call() throws IOException {
        LoraConfig config = lora == null ? null : LoraSpec.parse("--lora", lora);
        AutoModel.Loaded loaded = AutoModel.load(model, numLabels, 0);
        PrintStream o = System.out;
        o.println(loaded.model());
        if (config != null) {
            LoraModel m = LoraModel.inject(loaded.model(), config, 0);
            List<String> targets = m.targets(LoraConfig.DEFAULT_ADAPTER);
            o.println();
            o.println("after injecting LoRA into " + targets.size() + " modules:");
            o.println(loaded.model());
            o.println(m.trainableParametersLine());
        } else {
            long all = loaded.model().namedParameters().values().stream().mapToLong(p -> p.numel()).sum();
            o.printf("all params: %,d%n", all);
        }
        return 0;
    }
}
