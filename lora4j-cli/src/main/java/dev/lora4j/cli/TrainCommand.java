package dev.lora4j.cli;

import dev.lora4j.train.CausalLmSetup;
import dev.lora4j.train.SeqClsSetup;
import dev.lora4j.io.AtomicFiles;
import dev.lora4j.io.PythonJson;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.PeftAdapter;
import dev.lora4j.lora.loralib.LoralibAdapter;
import dev.lora4j.models.HfModelDir;
import dev.lora4j.nn.Module;
import dev.lora4j.tensor.DType;
import dev.lora4j.train.CausalLmData;
import dev.lora4j.train.CausalLmTrainer;
import dev.lora4j.train.Checkpoint;
import dev.lora4j.train.DistributedTraining;
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
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code lora4j train}: fine-tunes with LoRA (or in full) from the command line, with progress, metrics.jsonl,
 * periodic atomic checkpoints that {@code --resume} continues from exactly, the best checkpoint by validation
 * accuracy, and the final adapter in PEFT's format.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Fine-tune a model with LoRA (or in full) on a data file.")
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Hugging Face model directory, or builtin:all-minilm-l6-v2.")
    String model;

    @Option(names = "--task", defaultValue = "seq-cls", description = "seq-cls or causal-lm (default: ${DEFAULT-VALUE}).")
    String task;

    @Option(names = "--train", required = true, paramLabel = "FILE", description = "Training data: seq-cls TSV (sentence, label) or JSONL; causal-lm 'context||completion' lines or JSONL.")
    Path trainFile;

    @Option(names = "--valid", paramLabel = "FILE", description = "Validation data, same format.")
    Path validFile;

    @Option(names = "--valid-split", defaultValue = "0", paramLabel = "FRACTION",
            description = "causal-lm without --valid: hold out this fraction of the distinct contexts (seeded by --seed); OUT/train-split.txt and OUT/valid-split.txt record the split.")
    double validSplit;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder: adapter/, checkpoint-N/, best/, metrics.jsonl.")
    Path out;

    @Option(names = "--num-labels", defaultValue = "0", description = "Classes (default: from the data, at least 2).")
    int numLabels;

    @Option(names = "--r", defaultValue = "8", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
    int r;

    @Option(names = "--alpha", defaultValue = "16", description = "LoRA alpha (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Option(names = "--dropout", defaultValue = "0.1", description = "LoRA dropout (default: ${DEFAULT-VALUE}).")
    double dropout;

    @Option(names = "--targets", split = ",", description = "Target modules (default: query,value for seq-cls, c_attn for causal-lm; all-linear for every linear layer).")
    List<String> targets;

    @Option(names = "--bias", defaultValue = "none", description = "none, all or lora_only (default: ${DEFAULT-VALUE}).")
    String bias;

    @Option(names = "--modules-to-save", split = ",", description = "Modules trained in full beside the adapter (the classifier always is for seq-cls).")
    List<String> modulesToSave = new ArrayList<>();

    @Option(names = "--use-dora", description = "DoRA: magnitude and direction.")
    boolean useDora;

    @Option(names = "--use-edora", description = "EDoRA: SVD-initialised frozen A, B and a trainable r×r matrix (implies DoRA).")
    boolean useEdora;

    @Option(names = "--enable-lora", split = ",", arity = "1", paramLabel = "BOOL",
            description = "loralib MergedLinear on the targets: LoRA on these equal output groups only, e.g. true,false,true for q and v of GPT-2's fused c_attn (the LoRA paper's placement); saves a loralib adapter.")
    List<Boolean> enableLora;

    @Option(names = "--init", defaultValue = "true", description = "init_lora_weights: true, gaussian or false (default: ${DEFAULT-VALUE}).")
    String init;

    @Option(names = "--full", description = "Full fine-tuning instead of LoRA (the baseline); the trained model is written to OUT/model.")
    boolean full;

    @Option(names = "--from-scratch", description = "causal-lm: pretrain a new model shaped by --model's config.json, initialised as transformers does (implies --full).")
    boolean fromScratch;

    @Option(names = "--save-dtype", defaultValue = "f32", description = "With --full: dtype of OUT/model's weights, f32, bf16 or f16 (default: ${DEFAULT-VALUE}).")
    String saveDtype;

    @Mixin
    BaseDtypeOption baseDtype = new BaseDtypeOption();

    @Option(names = "--lr", defaultValue = "5e-4", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    float lr;

    @Option(names = "--weight-decay", defaultValue = "0.01", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    float weightDecay;

    @Option(names = "--warmup-steps", defaultValue = "0", description = "Linear warmup steps (default: ${DEFAULT-VALUE}).")
    int warmupSteps;

    @Option(names = "--schedule", defaultValue = "linear", description = "constant, linear or cosine (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--max-steps", defaultValue = "0", description = "Stop after this many steps (default: epochs decide).")
    int maxSteps;

    @Option(names = "--epochs", defaultValue = "1", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "32", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--grad-accum", defaultValue = "1", description = "Gradient accumulation steps (default: ${DEFAULT-VALUE}).")
    int gradAccum;

    @Option(names = "--clip", defaultValue = "1.0", description = "Max gradient norm, 0 for none (default: ${DEFAULT-VALUE}).")
    float clip;

    @Option(names = "--label-smoothing", defaultValue = "0", description = "Label smoothing (default: ${DEFAULT-VALUE}).")
    float labelSmoothing;

    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--max-length", defaultValue = "128", description = "Max tokens per example (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = "--eval-every", defaultValue = "0", description = "Evaluate every N steps, 0 for the end only (default: ${DEFAULT-VALUE}).")
    int evalEvery;

    @Option(names = "--save-every", defaultValue = "0", description = "Checkpoint every N steps, 0 for the end only (default: ${DEFAULT-VALUE}).")
    int saveEvery;

    @Option(names = "--log-every", defaultValue = "10", description = "Report every N steps (default: ${DEFAULT-VALUE}).")
    int logEvery;

    @Option(names = "--resume", paramLabel = "DIR", description = "Continue from a checkpoint folder written by an earlier run with the same settings.")
    Path resume;

    @Option(names = "--config", paramLabel = "FILE", description = "A recipe (YAML or JSON) of flag names to values; flags given here win.")
    Path config;

    @Option(names = "--spark", description = "Train the LoRA adapter data-parallel on Apache Spark; the launcher adds Spark.")
    boolean spark;

    @Option(names = "--master", defaultValue = "local[*]", description = "Spark master with --spark (default: ${DEFAULT-VALUE}).")
    String master;

    @Option(names = "--spark-tasks", defaultValue = "2", description = "Data-parallel replicas with --spark (default: ${DEFAULT-VALUE}).")
    int sparkTasks;

    private static final int KEEP_CHECKPOINTS = 2;

    @Override
    public Integer call() throws IOException {
        if (!task.equals("seq-cls") && !task.equals("causal-lm")) {
            throw new IllegalArgumentException("--task: expected seq-cls or causal-lm, got '" + task + "'");
        }
        TrainOptions options = new TrainOptions(lr, weightDecay, warmupSteps, schedule, epochs, maxSteps, batchSize,
                gradAccum, clip, labelSmoothing, seed, maxLength, evalEvery, logEvery);
        if (saveEvery < 0) {
            throw new IllegalArgumentException("--save-every must be ≥ 0, got " + saveEvery);
        }
        if (fromScratch && !task.equals("causal-lm")) {
            throw new IllegalArgumentException("--from-scratch: pretrains causal-lm models; got --task " + task);
        }
        full |= fromScratch;
        DType exportDtype = BaseDtypeOption.parse("--save-dtype", saveDtype);
        DType frozenDtype = baseDtype.dtype();
        if (full && frozenDtype != DType.F32) {
            throw new IllegalArgumentException("--base-dtype " + baseDtype.value + ": with --full every weight trains in float32");
        }
        PrintStream o = System.out;
        if (spark) {
            return trainOnSpark(options);
        }
        TaskRun run = task.equals("seq-cls") ? seqCls(options) : causalLm(options);
        Module net = run.model();
        LoraModel lora = null;
        LoralibAdapter.Spec merged = null;
        Checkpoint.Weights weights;
        if (full) {
            net.requiresGrad(true);
            weights = Checkpoint.full(net);
        } else if (enableLora != null) {
            merged = mergedSpec();
            List<String> wrapped = merged.inject(net, seed);
            o.printf("loralib MergedLinear (enable_lora=%s) on %d layers%n", enableLora, wrapped.size());
            o.println(LoraModel.trainableParametersLine(net));
            weights = Checkpoint.loralib(net, merged);
        } else {
            lora = LoraModel.inject(net, loraConfig(), seed);
            o.println(lora.trainableParametersLine());
            weights = Checkpoint.peft(lora);
        }
        if (frozenDtype != DType.F32) {
            o.printf("frozen base weights stored as %s (%d tensors)%n", frozenDtype, net.storeFrozenAs(frozenDtype));
        }
        TrainingLoop loop = run.loop();
        Files.createDirectories(out);
        Path metrics = out.resolve("metrics.jsonl");
        double[] best = {Double.NaN};
        long[] bestStep = {-1};
        if (resume != null) {
            Checkpoint.State state = Checkpoint.load(resume, net, weights, loop.optimizer());
            loop.resumeAt(state.globalStep());
            best[0] = state.bestMetric();
            bestStep[0] = state.bestStep();
            keepMetricsUpTo(metrics, state.globalStep());
            o.printf("resumed from %s at step %d%n", resume, state.globalStep());
        } else {
            Files.deleteIfExists(metrics);
        }
        o.printf("training %s on %,d examples (%s), %,d steps%n", full ? "every weight" : "LoRA", run.examples(), run.description(),
                loop.totalSteps(run.examples()));
        ProgressPrinter progress = new ProgressPrinter(o);
        boolean lowerIsBetter = task.equals("causal-lm");
        long started = System.nanoTime();
        TrainingLoop.Evaluation last = run.train(new TrainingLoop.Listener() {
            @Override
            public void onStep(TrainingLoop.Step s) {
                progress.onStep(s);
                appendMetrics(metrics, Map.of("step", s.step(), "epoch", s.epoch(), "loss", s.loss(), "lr", s.lr(),
                        "tokens_per_second", s.tokensPerSecond()));
            }

            @Override
            public void onEvaluation(long step, TrainingLoop.Evaluation e) {
                progress.onEvaluation(step, e);
                appendMetrics(metrics, Map.of("step", step, "eval_accuracy", e.accuracy(), "eval_loss", e.loss()));
                double metric = lowerIsBetter ? e.loss() : e.accuracy();
                if (Double.isNaN(best[0]) || (lowerIsBetter ? metric < best[0] : metric > best[0])) {
                    best[0] = metric;
                    bestStep[0] = step;
                    save(out.resolve("best"), step);
                }
            }

            @Override
            public void onStepEnd(long step) {
                if (saveEvery > 0 && step % saveEvery == 0) {
                    save(out.resolve("checkpoint-" + step), step);
                    pruneCheckpoints(out);
                }
            }

            private void save(Path dir, long step) {
                try {
                    Checkpoint.save(dir, net, weights, loop.optimizer(), new Checkpoint.State(step, best[0], bestStep[0]));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        });
        Checkpoint.save(out.resolve("checkpoint-" + loop.step()), net, weights, loop.optimizer(),
                new Checkpoint.State(loop.step(), best[0], bestStep[0]));
        pruneCheckpoints(out);
        if (lora != null) {
            PeftAdapter.save(lora, lora.activeAdapter(), out.resolve("adapter"));
        } else if (merged != null) {
            LoralibAdapter.save(net, merged, out.resolve("adapter"));
        } else {
            exportModel(net, exportDtype, out.resolve("model"));
        }
        LossCurve.write(metrics, out.resolve("loss.png"));
        o.printf("loss curve: %s%n", out.resolve("loss.png"));
        double seconds = (System.nanoTime() - started) / 1e9;
        o.printf("done: %d steps in %.0f s (training and validation)%s; %s in %s%n", loop.step(), seconds,
                last == null ? "" : lowerIsBetter
                        ? String.format(", validation loss %.4f, perplexity %.2f (best loss %.4f at step %d)", last.loss(), last.perplexity(), best[0], bestStep[0])
                        : String.format(", validation accuracy %.2f%% (best %.2f%% at step %d)", 100 * last.accuracy(), 100 * best[0], bestStep[0]),
                full ? "model" : "adapter", out.resolve(full ? "model" : "adapter"));
        return 0;
    }

    // Full training ends in a plain Hugging Face directory: the base's config and tokenizer files, every weight.
    private void exportModel(Module net, DType dtype, Path dir) throws IOException {
        Path base = Path.of(model);
        if (Files.isDirectory(base)) {
            HfModelDir.copyAllButWeights(base, dir);
        } else {
            Files.createDirectories(dir);
            System.out.println("note: " + model + " has no config.json to copy; " + dir + " holds the weights only");
        }
        HfModelDir.saveWeights(net, dtype, dir);
    }

    private LoralibAdapter.Spec mergedSpec() {
        if (useDora || useEdora || !modulesToSave.isEmpty() || !task.equals("causal-lm")) {
            throw new IllegalArgumentException("--enable-lora: loralib MergedLinear layers train causal-lm adapters without --use-dora, --use-edora or --modules-to-save");
        }
        boolean[] enable = new boolean[enableLora.size()];
        for (int i = 0; i < enable.length; i++) {
            enable[i] = enableLora.get(i);
        }
        return new LoralibAdapter.Spec(r, alpha, dropout, enable, targets != null ? targets : List.of("c_attn"), LoraConfig.Bias.parse(bias));
    }

    private LoraConfig loraConfig() {
        List<String> t = targets != null ? targets : task.equals("seq-cls") ? List.of("query", "value") : List.of("c_attn");
        return LoraConfig.builder().r(r).loraAlpha(alpha).loraDropout(dropout)
                .targetModules(t.toArray(String[]::new)).bias(LoraConfig.Bias.parse(bias))
                .modulesToSave(modulesToSave).initLoraWeights(LoraConfig.InitLoraWeights.parse(init))
                .useDora(useDora || useEdora).edora(useEdora ? LoraConfig.EdoraConfig.DEFAULT : null)
                .fanInFanOut(task.equals("causal-lm"))
                .taskType(task.equals("seq-cls") ? "SEQ_CLS" : "CAUSAL_LM").baseModelNameOrPath(model).build();
    }

    // Data-parallel training through the DistributedTraining engine (lora4j-spark): the same data, adapter and
    // optimisation settings as a local run; task 0 writes the checkpoints and the adapter under --out.
    private int trainOnSpark(TrainOptions options) throws IOException {
        if (full || resume != null || enableLora != null) {
            throw new IllegalArgumentException("--spark: trains PEFT LoRA adapters (no --full or --enable-lora); a failed stage resumes from the last checkpoint by itself");
        }
        List<? extends java.io.Serializable> train;
        List<? extends java.io.Serializable> valid;
        int labels = 2;
        if (task.equals("seq-cls")) {
            List<LabeledText> t = SeqClsData.read(trainFile);
            List<LabeledText> v = validFile == null ? List.of() : SeqClsData.read(validFile);
            labels = numLabels > 0 ? numLabels : Math.max(2, Stream.concat(t.stream(), v.stream()).mapToInt(LabeledText::label).max().orElse(1) + 1);
            train = t;
            valid = v;
        } else {
            List<List<PromptCompletion>> split = causalLmData();
            train = split.get(0);
            valid = split.get(1);
        }
        List<String> lines = DistributedTraining.find().train(task, master, sparkTasks, model, labels, loraConfig(), options, train,
                valid, out.toString(), saveEvery);
        Files.createDirectories(out);
        Files.write(out.resolve("metrics.jsonl"), lines, StandardCharsets.UTF_8);
        lines.forEach(System.out::println);
        LossCurve.write(out.resolve("metrics.jsonl"), out.resolve("loss.png"));
        System.out.printf("done: adapter in %s%n", out.resolve("adapter"));
        return 0;
    }

    /** One task's model, data and trainer behind a common face. */
    private interface TaskRun {
        Module model();

        TrainingLoop loop();

        int examples();

        String description();

        TrainingLoop.Evaluation train(TrainingLoop.Listener listener);
    }

    private TaskRun seqCls(TrainOptions options) throws IOException {
        List<LabeledText> train = SeqClsData.read(trainFile);
        List<LabeledText> valid = validFile == null ? List.of() : SeqClsData.read(validFile);
        int labels = numLabels > 0 ? numLabels : Math.max(2, Stream.concat(train.stream(), valid.stream())
                .mapToInt(LabeledText::label).max().orElse(1) + 1);
        SeqClsSetup setup = SeqClsSetup.load(model, labels, seed);
        SeqClsTrainer trainer = new SeqClsTrainer(setup.model(), setup.tokenizer(), options);
        return new TaskRun() {
            public Module model() { return setup.model(); }
            public TrainingLoop loop() { return trainer.loop(); }
            public int examples() { return train.size(); }
            public String description() { return labels + " labels"; }
            public TrainingLoop.Evaluation train(TrainingLoop.Listener l) { return trainer.train(train, valid, l); }
        };
    }

    private List<List<PromptCompletion>> causalLmData() throws IOException {
        List<PromptCompletion> train = CausalLmData.read(trainFile);
        if (validFile == null && validSplit > 0) {
            List<List<PromptCompletion>> split = CausalLmData.splitByContext(train, validSplit, seed);
            // The split goes next to the results, so generation and scoring (or another framework) use the same one.
            Files.createDirectories(out);
            for (int i = 0; i < 2; i++) {
                List<String> lines = split.get(i).stream().map(e -> e.prompt() + "||" + e.completion()).toList();
                AtomicFiles.write(out.resolve(i == 0 ? "train-split.txt" : "valid-split.txt"),
                        (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
            }
            return split;
        }
        return List.of(train, validFile == null ? List.of() : CausalLmData.read(validFile));
    }

    private TaskRun causalLm(TrainOptions options) throws IOException {
        List<List<PromptCompletion>> split = causalLmData();
        List<PromptCompletion> train = split.get(0);
        List<PromptCompletion> valid = split.get(1);
        CausalLmSetup setup = fromScratch ? CausalLmSetup.fromScratch(model, seed) : CausalLmSetup.load(model);
        CausalLmTrainer trainer = new CausalLmTrainer(setup.model(), setup.tokenizer(), options);
        return new TaskRun() {
            public Module model() { return setup.model(); }
            public TrainingLoop loop() { return trainer.loop(); }
            public int examples() { return train.size(); }
            public String description() { return "loss on completions"; }
            public TrainingLoop.Evaluation train(TrainingLoop.Listener l) { return trainer.train(train, valid, l); }
        };
    }

    private static void appendMetrics(Path file, Map<String, Object> values) {
        try {
            String line = PythonJson.dumpsLine(values) + "\n";
            Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // A resumed run rewrites what came after its checkpoint, so metrics.jsonl reads as one uninterrupted run.
    private static void keepMetricsUpTo(Path file, long step) throws IOException {
        if (!Files.exists(file)) {
            return;
        }
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"step\": (\\d+)").matcher(line);
            if (m.find() && Long.parseLong(m.group(1)) <= step) {
                kept.add(line);
            }
        }
        Files.write(file, kept, StandardCharsets.UTF_8);
    }

    private static void pruneCheckpoints(Path out) {
        try (Stream<Path> dirs = Files.list(out)) {
            List<Path> checkpoints = dirs.filter(p -> p.getFileName().toString().matches("checkpoint-\\d+"))
                    .sorted((a, b) -> Long.compare(step(b), step(a))).toList();
            for (Path old : checkpoints.subList(Math.min(KEEP_CHECKPOINTS, checkpoints.size()), checkpoints.size())) {
                try (Stream<Path> walk = Files.walk(old)) {
                    for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.delete(p);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long step(Path checkpoint) {
        return Long.parseLong(checkpoint.getFileName().toString().substring("checkpoint-".length()));
    }
}
