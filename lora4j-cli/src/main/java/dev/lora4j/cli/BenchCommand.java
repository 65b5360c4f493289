package dev.lora4j.cli;

import dev.lora4j.io.PythonJson;
import dev.lora4j.kernels.Parallel;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.loralib.MergedLinear;
import dev.lora4j.models.bert.BertForSequenceClassification;
import dev.lora4j.models.gpt2.Gpt2Config;
import dev.lora4j.models.gpt2.Gpt2LmHeadModel;
import dev.lora4j.models.onnx.MiniLmImport;
import dev.lora4j.nn.Conv1D;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Init;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.optim.AdamW;
import dev.lora4j.tensor.DType;
import dev.lora4j.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * {@code lora4j bench train gpt2|minilm}: LoRA training speed on the two configurations that
 * scripts/bench/torch_lora_train.py runs in PyTorch, with random weights (speed needs no real ones): GPT-2 small
 * with r=4, α=32 on q and v of c_attn (loralib MergedLinear) at batch 4 × 128, and MiniLM with r=8, α=16 on
 * query and value plus the classifier at batch 32 × 64. Prints one JSON line: tokens/s over the timed steps
 * (after the warm-up steps), seconds per step, peak RSS, final loss. Three warm-up steps by default: the JIT
 * compiler is still at work during the second and third steps (a JFR compilation log of MiniLM put about 0.6 s
 * of compiling there, on one of the two cores), and a training run's speed is that of the steps after it.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Measure LoRA training speed (see scripts/bench-train).")
final class BenchCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "WHAT", description = "train")
    String what;

    @Parameters(index = "1", paramLabel = "CONFIG", description = "gpt2 or minilm")
    String config;

    @Option(names = "--steps", defaultValue = "5", description = "Timed steps after the warm-up steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "3", description = "Untimed steps first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--bf16", description = "Store the frozen base weights as bf16 (half the weight memory).")
    boolean bf16;

    @Override
    public Integer call() throws IOException {
        if (!what.equals("train")) {
            throw new IllegalArgumentException("bench: unknown benchmark '" + what + "', expected train");
        }
        if (steps <= 0) {
            throw new IllegalArgumentException("--steps must be positive, got " + steps);
        }
        if (warmup < 0) {
            throw new IllegalArgumentException("--warmup must not be negative, got " + warmup);
        }
        Random rng = new Random(0);
        Module model;
        Runnable step;
        int batch, seq;
        float[] lastLoss = new float[1];
        CrossEntropyLoss lossFn = new CrossEntropyLoss();
        switch (config) {
            case "gpt2" -> {
                batch = 4;
                seq = 128;
                Gpt2LmHeadModel gpt2 = new Gpt2LmHeadModel(new Gpt2Config(50257, 1024, 768, 12, 12, null, "gelu_new", 1e-5f, 0f, 0f, null), 1);
                gpt2.requiresGrad(false);
                Init.normal(gpt2.transformer().wte().weight().value(), 0f, 0.02f, rng);
                for (Map.Entry<String, Module> e : gpt2.namedModules().entrySet()) {
                    if (e.getKey().endsWith(".attn")) {
                        Conv1D cAttn = (Conv1D) e.getValue().children().get("c_attn");
                        e.getValue().replaceChild("c_attn", new MergedLinear(cAttn, 4, 32, 0.0, new boolean[]{true, false, true}, false, 2));
                    }
                }
                int[] ids = rng.ints(batch * seq, 0, 50257).toArray();
                int[] targets = new int[ids.length];
                for (int i = 0; i < ids.length; i++) {
                    targets[i] = i % seq == seq - 1 ? CrossEntropyLoss.DEFAULT_IGNORE_INDEX : ids[i + 1];
                }
                model = gpt2;
                step = () -> {
                    lastLoss[0] = lossFn.forward(gpt2.forward(ids, batch, seq), targets, null);
                    gpt2.backward(lossFn.backwardInPlace(1f));   // as CausalLmTrainer
                };
            }
            case "minilm" -> {
                batch = 32;
                seq = 64;
                BertForSequenceClassification bert = new BertForSequenceClassification(MiniLmImport.allMiniLmL6V2Config(2),
                        BertForSequenceClassification.Pooling.MEAN, 1);
                LoraModel.inject(bert, LoraConfig.builder().r(8).loraAlpha(16).targetModules("query", "value")
                        .modulesToSave("classifier").initLoraWeights(LoraConfig.InitLoraWeights.RANDOM).build(), 2);
                int[] ids = rng.ints(batch * seq, 0, 30522).toArray();
                float[] mask = new float[batch * seq];
                Arrays.fill(mask, 1f);
                int[] labels = rng.ints(batch, 0, 2).toArray();
                model = bert;
                step = () -> {
                    lastLoss[0] = lossFn.forward(bert.forward(ids, null, mask, batch, seq), labels, null);
                    bert.backward(lossFn.backward(1f));
                };
            }
            default -> throw new IllegalArgumentException("bench train: unknown config '" + config + "', expected gpt2 or minilm");
        }
        if (bf16) {
            model.storeFrozenAs(DType.BF16);
        }
        model.train(true);
        AdamW optimizer = new AdamW(model.trainableParameters(), 0.9f, 0.999f, 1e-8f, 0.01f);
        double timed = 0;
        long allocatedBefore = 0;
        List<Double> stepSeconds = new ArrayList<>();
        for (int s = 0; s < warmup + steps; s++) {
            if (s == warmup) {
                allocatedBefore = allocatedBytes();
            }
            long t0 = System.nanoTime();
            model.zeroGrad();
            step.run();
            optimizer.step(1e-4f);
            double seconds = (System.nanoTime() - t0) / 1e9;
            stepSeconds.add(Math.round(seconds * 1000) / 1000.0);
            if (s >= warmup) {
                timed += seconds;
            }
        }
        double allocatedPerStep = (allocatedBytes() - allocatedBefore) / (double) steps / 1048576.0;
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("impl", "lora4j");
        result.put("config", config);
        result.put("batch", batch);
        result.put("seq", seq);
        result.put("threads", Parallel.threads());
        result.put("frozen_dtype", bf16 ? "bf16" : "f32");
        result.put("trainable_params", model.trainableParameters().stream().mapToLong(Parameter::numel).sum());
        result.put("tokens_per_second", (double) batch * seq * steps / timed);
        result.put("seconds_per_step", timed / steps);
        result.put("warmup_steps", warmup);
        result.put("step_seconds", stepSeconds);   // the warm-up steps first
        result.put("weight_mb", model.namedParameters().values().stream()
                .mapToLong(p -> (long) p.numel() * (p.value().dtype() == DType.F32 ? 4 : 2)).sum() / 1048576.0);
        result.put("peak_rss_mb", peakRssMb());
        result.put("heap_allocated_mb_per_step", allocatedPerStep);
        result.put("loss", (double) lastLoss[0]);
        System.out.println(PythonJson.dumpsLine(result));
        return 0;
    }

    // Bytes allocated on the Java heap by every thread so far (HotSpot's count): a steady training step should
    // allocate next to nothing, its buffers being reused.
    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean()).getTotalThreadAllocatedBytes();
    }

    private static double peakRssMb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return Double.NaN;
    }
}
