package dev.lora4j.train;

import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.optim.AdamW;
import dev.lora4j.optim.GradClip;
import dev.lora4j.optim.LrSchedule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

/**
 * The training loop every task shares, top to bottom: for each optimizer step, pick its batches (a seeded
 * shuffle per epoch, similar lengths grouped, as transformers' group_by_length), reseed dropout from the step,
 * run forward and backward on each micro-batch (the task does that), clip, step AdamW at the scheduled rate,
 * zero the gradients; report, evaluate and let the caller checkpoint. Because batches and dropout masks depend
 * only on the seed and the step number, a run resumed from a checkpoint follows the uninterrupted one exactly.
 * Only parameters with requiresGrad train, so the same loop runs LoRA and full fine-tuning.
 */
public final class TrainingLoop {
    private static final int GROUPING_WINDOW = 50;   // batches per length-sorted window

    private final Module model;
    private final TrainOptions options;
    private List<Parameter> trainable;
    private AdamW optimizer;          // created on first use: evaluation alone needs no moment buffers
    private long step;
    private GradientSync sync;
    private int shard;
    private int shards = 1;

    /**
     * Combines the gradients of data-parallel replicas after each step's backward passes, before clipping and
     * the optimizer step, so that every replica applies the same update.
     */
    public interface GradientSync {
        /**
         * Replaces every trainable parameter's gradient by the sum over replicas (each replica has already
         * weighted its part) and returns the sum of {@code localLoss} over replicas.
         */
        double allReduce(List<Parameter> trainable, double localLoss);
    }

    /** Makes this loop one replica of a data-parallel run (null: a single process). */
    public void setGradientSync(GradientSync sync) {
        this.sync = sync;
    }

    /**
     * Makes this loop replica {@code index} of {@code count}: of every batch it processes only its contiguous
     * share of rows and weights that share's loss by its size, so that the sum of all replicas' gradients (see
     * {@link GradientSync}) is the gradient of the whole batch.
     */
    public void shard(int index, int count) {
        if (count <= 0 || index < 0 || index >= count) {
            throw new IllegalArgumentException("shard " + index + " of " + count);
        }
        this.shard = index;
        this.shards = count;
    }

    /** What a task does with the examples of one micro-batch. */
    public interface Task {
        /** Number of training examples. */
        int examples();

        /** Tokens in example {@code i} (for grouping similar lengths). */
        int length(int i);

        /**
         * How many terms the mean loss of these examples averages over (examples for classification, predicted
         * tokens for language modelling): a data-parallel replica's share of a batch is weighted by this.
         */
        default long lossTerms(int[] rows) {
            return rows.length;
        }

        /**
         * Forward and backward on the examples {@code rows}, the loss scaled by {@code lossScale} before backward
         * (1/gradAccum); returns the unscaled mean loss and the number of tokens processed.
         */
        Result trainBatch(int[] rows, float lossScale);
    }

    /**
     * One micro-batch's outcome.
     *
     * @param loss   mean loss of the batch
     * @param tokens tokens processed (not counting padding)
     */
    public record Result(double loss, long tokens) {
    }

    /** What a progress listener sees after each logged step. */
    public record Step(long step, long totalSteps, int epoch, double loss, float lr, double tokensPerSecond, double etaSeconds) {
    }

    /**
     * Loss and accuracy over a data set; accuracy is per example for classification and per predicted token for
     * language modelling.
     */
    public record Evaluation(double accuracy, double loss, int examples) {
        /** exp(loss), the perplexity of a language model. */
        public double perplexity() {
            return Math.exp(loss);
        }
    }

    /** Receives progress; all methods have empty defaults. */
    public interface Listener {
        /** After every {@code logEvery} optimizer steps. */
        default void onStep(Step step) {
        }

        /** After each evaluation. */
        default void onEvaluation(long step, Evaluation evaluation) {
        }

        /** After every optimizer step, once its logging and evaluation are done: where checkpoints are written. */
        default void onStepEnd(long step) {
        }
    }

    /** A loop training {@code model}'s parameters that have requiresGrad. */
    public TrainingLoop(Module model, TrainOptions options) {
        this.model = model;
        this.options = options;
    }

    // The parameters are gathered on first use, not at construction: an adapter injected after the loop was made
    // (its lora_A/lora_B new, the base frozen) is what trains.
    private List<Parameter> trainable() {
        if (trainable == null) {
            trainable = model.trainableParameters();
            if (trainable.isEmpty()) {
                throw new IllegalArgumentException("nothing to train: every parameter is frozen");
            }
        }
        return trainable;
    }

    /** The options. */
    public TrainOptions options() {
        return options;
    }

    /** The optimizer (its moments and step count are what a checkpoint saves). */
    public AdamW optimizer() {
        if (optimizer == null) {
            optimizer = new AdamW(trainable(), 0.9f, 0.999f, 1e-8f, options.weightDecay());
        }
        return optimizer;
    }

    /** Optimizer steps taken so far (where a resumed run continues from). */
    public long step() {
        return step;
    }

    /** Continues from optimizer step {@code step}: the data order and dropout masks pick up exactly there. */
    public void resumeAt(long step) {
        this.step = step;
        optimizer().setStepCount(step);
    }

    /** Optimizer steps a run over {@code examples} examples takes. */
    public long totalSteps(int examples) {
        if (options.maxSteps() > 0) {
            return options.maxSteps();
        }
        return (long) options.epochs() * stepsPerEpoch(examples);
    }

    private int stepsPerEpoch(int examples) {
        int batches = (examples + options.batchSize() - 1) / options.batchSize();
        return Math.max(1, batches / options.gradAccum());
    }

    /**
     * Trains from the current step to the last, calling {@code evaluate} (may be null) every evalEvery steps and
     * at the end; returns the last evaluation or null.
     */
    public Evaluation run(Task task, Supplier<Evaluation> evaluate, Listener listener) {
        long total = totalSteps(task.examples());
        int stepsPerEpoch = stepsPerEpoch(task.examples());
        LrSchedule schedule = LrSchedule.named(options.schedule(), options.lr(), options.warmupSteps(), total);
        List<Dropout> dropouts = model.namedModules().values().stream()
                .filter(m -> m instanceof Dropout).map(m -> (Dropout) m).toList();
        model.train(true);
        model.zeroGrad();
        double lossSum = 0;
        int lossCount = 0;
        long tokens = 0;
        long firstStep = step;
        long start = System.nanoTime();
        int cachedEpoch = -1;
        List<int[]> epochBatches = List.of();
        Evaluation last = null;
        while (step < total) {
            int epoch = (int) (step / stepsPerEpoch);
            if (epoch != cachedEpoch) {
                epochBatches = batches(task, new Random(options.seed() * 1_000_003L + epoch));
                cachedEpoch = epoch;
            }
            for (int i = 0; i < dropouts.size(); i++) {
                dropouts.get(i).reseed(options.seed() ^ (step * 0x9E3779B97F4A7C15L) ^ (i * 0xC2B2AE3D27D4EB4FL));
            }
            int first = (int) (step % stepsPerEpoch) * options.gradAccum();
            double stepLoss = 0;
            for (int micro = 0; micro < options.gradAccum(); micro++) {
                int[] batch = epochBatches.get(first + micro);
                int[] rows = Arrays.copyOfRange(batch, batch.length * shard / shards, batch.length * (shard + 1) / shards);
                if (rows.length == 0) {
                    continue;
                }
                float share = shards == 1 ? 1f : (float) ((double) task.lossTerms(rows) / task.lossTerms(batch));
                Result r = task.trainBatch(rows, share / options.gradAccum());
                stepLoss += r.loss() * share;
                tokens += r.tokens();
            }
            if (sync != null) {
                stepLoss = sync.allReduce(trainable(), stepLoss);
            }
            lossSum += stepLoss / options.gradAccum();
            lossCount++;
            if (options.clip() > 0) {
                GradClip.byGlobalNorm(trainable(), options.clip());
            }
            float lr = schedule.learningRate(step);
            optimizer().step(lr);
            model.zeroGrad();
            step++;
            if (step % options.logEvery() == 0 || step == total) {
                double seconds = (System.nanoTime() - start) / 1e9;
                listener.onStep(new Step(step, total, epoch, lossSum / lossCount, lr, tokens / seconds,
                        seconds / (step - firstStep) * (total - step)));
                lossSum = 0;
                lossCount = 0;
            }
            if (evaluate != null && options.evalEvery() > 0 && step % options.evalEvery() == 0 && step < total) {
                listener.onEvaluation(step, last = evaluate.get());
                model.train(true);
            }
            listener.onStepEnd(step);
        }
        if (evaluate != null) {
            listener.onEvaluation(step, last = evaluate.get());
        }
        model.eval();
        return last;
    }

    // One epoch's batches: a seeded shuffle, then within windows of GROUPING_WINDOW batches sorted by length,
    // then the batch order shuffled again so lengths do not trend through the epoch.
    private List<int[]> batches(Task task, Random rng) {
        List<Integer> perm = new ArrayList<>(task.examples());
        for (int i = 0; i < task.examples(); i++) {
            perm.add(i);
        }
        Collections.shuffle(perm, rng);
        int bs = options.batchSize();
        List<int[]> out = new ArrayList<>();
        for (int w = 0; w < perm.size(); w += bs * GROUPING_WINDOW) {
            List<Integer> window = new ArrayList<>(perm.subList(w, Math.min(perm.size(), w + bs * GROUPING_WINDOW)));
            window.sort((a, b) -> Integer.compare(task.length(b), task.length(a)));
            for (int s = 0; s < window.size(); s += bs) {
                out.add(window.subList(s, Math.min(window.size(), s + bs)).stream().mapToInt(Integer::intValue).toArray());
            }
        }
        Collections.shuffle(out, rng);
        return out;
    }
}
