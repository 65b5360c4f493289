package dev.lora4j.cli;

import dev.lora4j.lora.Adapters;
import dev.lora4j.train.CausalLmSetup;
import dev.lora4j.generate.DecodingOptions;
import dev.lora4j.generate.Generator;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code lora4j generate}: continues prompts with a GPT-2 model (and adapter), greedy or by beam search. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Continue prompts with a GPT-2 model, optionally with a LoRA adapter.")
final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A GPT-2 Hugging Face model directory.")
    String model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "An adapter directory to apply (PEFT, or loralib from train --enable-lora).")
    Path adapter;

    @ArgGroup(multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "One prompt.")
        String prompt;

        @Option(names = "--prompts", paramLabel = "FILE", description = "One prompt per line, or a data file (context||reference lines, WebNLG or DART JSON): one prompt per distinct context.")
        Path prompts;
    }

    @Mixin
    BaseDtypeOption baseDtype = new BaseDtypeOption();

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Most tokens to add (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--num-beams", defaultValue = "1", description = "1 for greedy, more for beam search (default: ${DEFAULT-VALUE}).")
    int numBeams;

    @Option(names = "--length-penalty", defaultValue = "1.0", description = "Beam score = log p / length^this (default: ${DEFAULT-VALUE}).")
    double lengthPenalty;

    @Option(names = "--no-repeat-ngram-size", defaultValue = "0", description = "Never repeat an n-gram of this size (default: off).")
    int noRepeatNgram;

    @Option(names = "--repetition-penalty", defaultValue = "1.0", description = "CTRL repetition penalty (default: ${DEFAULT-VALUE}).")
    double repetitionPenalty;

    @Override
    public Integer call() throws IOException {
        CausalLmSetup setup = CausalLmSetup.load(model);
        if (adapter != null) {
            Adapters.apply(setup.model(), adapter);
        }
        DecodingOptions options = new DecodingOptions(maxNewTokens, numBeams, lengthPenalty, noRepeatNgram, repetitionPenalty,
                setup.tokenizer().endOfTextId());
        List<String> prompts;
        if (input.prompt != null) {
            prompts = List.of(input.prompt);
        } else {
            if (!Files.isRegularFile(input.prompts)) {
                throw new IllegalArgumentException("--prompts: " + input.prompts + " not found");
            }
            String name = input.prompts.getFileName().toString();
            List<String> lines = Files.readAllLines(input.prompts, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).toList();
            if (name.endsWith(".json") || name.endsWith(".jsonl") || (!lines.isEmpty() && lines.get(0).contains("||"))) {
                // a data file: one prompt per distinct context, in order, as score expects the hypotheses
                prompts = new java.util.ArrayList<>(new java.util.LinkedHashSet<>(
                        dev.lora4j.train.CausalLmData.read(input.prompts).stream().map(dev.lora4j.train.PromptCompletion::prompt).toList()));
            } else {
                prompts = lines.stream().map(String::strip).toList();
            }
        }
        setup.model().requiresGrad(false);          // inference only: kernels keep packed copies of frozen weights
        setup.model().storeFrozenAs(baseDtype.dtype());
        Generator generator = new Generator(setup.model());
        for (String p : prompts) {
            int[] out = generator.generate(setup.tokenizer().encode(p), options);
            System.out.println(setup.tokenizer().decode(out).strip());
        }
        return 0;
    }
}
