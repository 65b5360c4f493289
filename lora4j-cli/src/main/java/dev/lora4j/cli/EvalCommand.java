package dev.lora4j.cli;

import dev.lora4j.lora.Adapters;
import dev.lora4j.train.CausalLmSetup;
import dev.lora4j.train.SeqClsSetup;
import dev.lora4j.io.PythonJson;
import dev.lora4j.train.CausalLmData;
import dev.lora4j.train.CausalLmTrainer;
import dev.lora4j.train.LabeledText;
import dev.lora4j.train.PromptCompletion;
import dev.lora4j.train.SeqClsData;
import dev.lora4j.train.SeqClsTrainer;
import dev.lora4j.train.TrainingLoop;
import dev.lora4j.train.TrainOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code lora4j eval}: accuracy and loss of a model, with or without an adapter, on a labelled file. */
@Command(name = "eval", mixinStandardHelpOptions = true, description = "Evaluate a model (and adapter) on a data file.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model directory, or builtin:all-minilm-l6-v2.")
    String model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "An adapter directory to apply (PEFT, or loralib from train --enable-lora).")
    Path adapter;

    @Option(names = "--task", defaultValue = "seq-cls", description = "seq-cls or causal-lm (default: ${DEFAULT-VALUE}).")
    String task;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "seq-cls: TSV or JSONL with labels; causal-lm: 'context||completion' lines or JSONL.")
    Path data;

    @Option(names = "--num-labels", defaultValue = "2", description = "Classes of a built-in model's head (default: ${DEFAULT-VALUE}).")
    int numLabels;

    @Option(names = "--max-length", defaultValue = "128", description = "Max tokens per example (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Mixin
    BaseDtypeOption baseDtype = new BaseDtypeOption();

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        TrainOptions options = new TrainOptions(1e-3f, 0f, 0, "constant", 1, 0, 16, 1, 0f, 0f, 0, maxLength, 0, 1);
        TrainingLoop.Evaluation e;
        boolean lm = task.equals("causal-lm");
        if (lm) {
            List<PromptCompletion> examples = CausalLmData.read(data);
            CausalLmSetup setup = CausalLmSetup.load(model);
            if (adapter != null) {
                Adapters.apply(setup.model(), adapter);
            }
            freeze(setup.model());
            e = new CausalLmTrainer(setup.model(), setup.tokenizer(), options).evaluate(examples);
        } else if (task.equals("seq-cls")) {
            List<LabeledText> examples = SeqClsData.read(data);
            SeqClsSetup setup = SeqClsSetup.load(model, numLabels, 0);
            if (adapter != null) {
                Adapters.apply(setup.model(), adapter);
            }
            freeze(setup.model());
            e = new SeqClsTrainer(setup.model(), setup.tokenizer(), options).evaluate(examples);
        } else {
            throw new IllegalArgumentException("--task: expected seq-cls or causal-lm, got '" + task + "'");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(lm ? "token_accuracy" : "accuracy", e.accuracy());
        m.put("loss", e.loss());
        m.put("examples", e.examples());
        if (lm) {
            m.put("perplexity", e.perplexity());
        }
        if (json) {
            System.out.println(PythonJson.dumpsLine(m));
        } else if (lm) {
            System.out.printf("loss %.4f  perplexity %.3f  token accuracy %.2f%%  (%,d examples)%n", e.loss(), e.perplexity(),
                    100 * e.accuracy(), e.examples());
        } else {
            System.out.printf("accuracy %.2f%%  loss %.4f  (%,d examples)%n", 100 * e.accuracy(), e.loss(), e.examples());
        }
        return 0;
    }

    // Evaluation trains nothing: every weight is frozen (so kernels keep packed copies) and stored as asked.
    private void freeze(dev.lora4j.nn.Module net) {
        net.requiresGrad(false);
        net.storeFrozenAs(baseDtype.dtype());
    }
}
