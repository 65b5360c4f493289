package dev.lora4j.train;

import dev.lora4j.models.bert.BertForSequenceClassification;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Dropout;
import dev.lora4j.nn.Parameter;
import dev.lora4j.optim.AdamW;
import dev.lora4j.optim.GradClip;
import dev.lora4j.optim.LrSchedule;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tokenizer.WordPieceTokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Fine-tunes a BERT sequence classifier: the training loop, top to bottom. Texts are tokenized once; each epoch
 * shuffles them, groups similar lengths into batches (padding only to the batch's longest, as transformers'
 * group_by_length), and for every batch runs forward, cross-entropy, backward; every {@code gradAccum} batches
 * it clips, steps AdamW at the scheduled rate, and zeroes gradients. Only parameters with requiresGrad train,
 * so the same loop runs LoRA and full fine-tuning.
 */
public final class SeqClsTrainer {
    private static final int GROUPING_WINDOW = 50;   // batches per length-sorted window

    private final BertForSequenceClassification model;
    private final WordPieceTokenizer tokenizer;
    private final TrainOptions options;
    private final List<Parameter> trainable;
    private AdamW optimizer;          // created on first use: evaluation alone needs no moment buffers
    private long step;

    /** What a progress listener sees after each logged step. */
    public record Step(long step, long totalSteps, int epoch, double loss, float lr, double tokensPerSecond, double etaSeconds) {
    }

    /** Accuracy and mean loss over a data set. */
    public record Evaluation(double accuracy, double loss, int examples) {
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

    /** A trainer of {@code model}'s parameters that have requiresGrad. */
    public SeqClsTrainer(BertForSequenceClassification model, WordPieceTokenizer tokenizer, TrainOptions options) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.options = options;
        this.trainable = model.trainableParameters();
        if (trainable.isEmpty()) {
            throw new IllegalArgumentException("nothing to train: every parameter is frozen");
        }

    }

    /** Optimizer steps a run over {@code examples} examples takes. */
    public long totalSteps(int examples) {
        if (options.maxSteps() > 0) {
            return options.maxSteps();
        }
        long batches = (examples + options.batchSize() - 1) / options.batchSize();
        return options.epochs() * Math.max(1, batches / options.gradAccum());
    }

    /** The optimizer (its moments and step count are what a checkpoint saves). */
    public AdamW optimizer() {
        if (optimizer == null) {
            optimizer = new AdamW(trainable, 0.9f, 0.999f, 1e-8f, options.weightDecay());
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

    /**
     * Trains on {@code train} from the current step to the last, evaluating on {@code valid} (may be empty)
     * every evalEvery steps and at the end. Each step's batches and dropout masks depend only on the seed and
     * the step number, so a run resumed from a checkpoint follows the uninterrupted run exactly.
     */
    public Evaluation train(List<LabeledText> train, List<LabeledText> valid, Listener listener) {
        checkLabels(train);
        int[][] ids = encode(train);
        int[] labels = train.stream().mapToInt(LabeledText::label).toArray();
        long total = totalSteps(train.size());
        int batchesPerEpoch = (train.size() + options.batchSize() - 1) / options.batchSize();
        int stepsPerEpoch = Math.max(1, batchesPerEpoch / options.gradAccum());
        LrSchedule schedule = LrSchedule.named(options.schedule(), options.lr(), options.warmupSteps(), total);
        CrossEntropyLoss lossFn = new CrossEntropyLoss(options.labelSmoothing(), CrossEntropyLoss.DEFAULT_IGNORE_INDEX);
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
                epochBatches = batches(ids, new Random(options.seed() * 1_000_003L + epoch));
                cachedEpoch = epoch;
            }
            for (int i = 0; i < dropouts.size(); i++) {
                dropouts.get(i).reseed(options.seed() ^ (step * 0x9E3779B97F4A7C15L) ^ (i * 0xC2B2AE3D27D4EB4FL));
            }
            int first = (int) (step % stepsPerEpoch) * options.gradAccum();
            for (int micro = 0; micro < options.gradAccum(); micro++) {
                int[] batch = epochBatches.get(first + micro);
                WordPieceTokenizer.Batch b = pad(ids, batch);
                int[] y = new int[batch.length];
                for (int i = 0; i < batch.length; i++) {
                    y[i] = labels[batch[i]];
                }
                Tensor logits = model.forward(b.ids(), b.tokenTypes(), b.mask(), b.batchSize(), b.length());
                lossSum += lossFn.forward(logits, y, null);
                lossCount++;
                model.backward(lossFn.backward(1f / options.gradAccum()));
                for (float m : b.mask()) {
                    tokens += (long) m;
                }
            }
            if (options.clip() > 0) {
                GradClip.byGlobalNorm(trainable, options.clip());
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
            if (!valid.isEmpty() && options.evalEvery() > 0 && step % options.evalEvery() == 0 && step < total) {
                listener.onEvaluation(step, last = evaluate(valid));
                model.train(true);
            }
            listener.onStepEnd(step);
        }
        if (!valid.isEmpty()) {
            listener.onEvaluation(step, last = evaluate(valid));
        }
        model.eval();
        return last;
    }

    /** Accuracy and mean loss of the model in eval mode over {@code data}. */
    public Evaluation evaluate(List<LabeledText> data) {
        checkLabels(data);
        model.eval();
        int[][] ids = encode(data);
        Integer[] order = new Integer[data.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Integer.compare(ids[a].length, ids[b].length));
        CrossEntropyLoss lossFn = new CrossEntropyLoss();
        int correct = 0;
        double lossSum = 0;
        int batchSize = Math.max(options.batchSize(), 64);
        for (int from = 0; from < order.length; from += batchSize) {
            int[] batch = new int[Math.min(batchSize, order.length - from)];
            int[] y = new int[batch.length];
            for (int i = 0; i < batch.length; i++) {
                batch[i] = order[from + i];
                y[i] = data.get(batch[i]).label();
            }
            WordPieceTokenizer.Batch b = pad(ids, batch);
            Tensor logits = model.forward(b.ids(), b.tokenTypes(), b.mask(), b.batchSize(), b.length());
            lossSum += lossFn.forward(logits, y, null) * batch.length;
            correct += countCorrect(logits, y);
        }
        return new Evaluation((double) correct / data.size(), lossSum / data.size(), data.size());
    }

    /** Predicted class of each text, in eval mode. */
    public int[] predict(List<String> texts) {
        model.eval();
        int[][] ids = texts.stream().map(t -> tokenizer.encodePair(t, null, options.maxLength()).ids()).toArray(int[][]::new);
        int[] all = new int[ids.length];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        WordPieceTokenizer.Batch b = pad(ids, all);
        Tensor logits = model.forward(b.ids(), b.tokenTypes(), b.mask(), b.batchSize(), b.length());
        int[] out = new int[ids.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = argmax(logits, i);
        }
        return out;
    }

    private void checkLabels(List<LabeledText> data) {
        int numLabels = model.bert().config().numLabels();
        for (LabeledText t : data) {
            if (t.label() >= numLabels) {
                throw new IllegalArgumentException("line " + t.line() + ": label " + t.label() + " but the model has "
                        + numLabels + " labels (0…" + (numLabels - 1) + ")");
            }
        }
    }

    private int[][] encode(List<LabeledText> data) {
        int[][] ids = new int[data.size()][];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = tokenizer.encodePair(data.get(i).text(), null, options.maxLength()).ids();
        }
        return ids;
    }

    // One epoch's batches: a seeded shuffle, then within windows of GROUPING_WINDOW batches sorted by length,
    // then the batch order shuffled again so lengths do not trend through the epoch.
    private List<int[]> batches(int[][] ids, Random rng) {
        List<Integer> perm = new ArrayList<>(ids.length);
        for (int i = 0; i < ids.length; i++) {
            perm.add(i);
        }
        Collections.shuffle(perm, rng);
        int bs = options.batchSize();
        List<int[]> out = new ArrayList<>();
        for (int w = 0; w < perm.size(); w += bs * GROUPING_WINDOW) {
            List<Integer> window = new ArrayList<>(perm.subList(w, Math.min(perm.size(), w + bs * GROUPING_WINDOW)));
            window.sort((a, b) -> Integer.compare(ids[b].length, ids[a].length));
            for (int s = 0; s < window.size(); s += bs) {
                out.add(window.subList(s, Math.min(window.size(), s + bs)).stream().mapToInt(Integer::intValue).toArray());
            }
        }
        Collections.shuffle(out, rng);
        return out;
    }

    private WordPieceTokenizer.Batch pad(int[][] ids, int[] rows) {
        int T = 0;
        for (int r : rows) {
            T = Math.max(T, ids[r].length);
        }
        int B = rows.length;
        int[] flat = new int[B * T];
        float[] mask = new float[B * T];
        Arrays.fill(flat, tokenizer.padId());
        for (int i = 0; i < B; i++) {
            int[] row = ids[rows[i]];
            System.arraycopy(row, 0, flat, i * T, row.length);
            Arrays.fill(mask, i * T, i * T + row.length, 1f);
        }
        return new WordPieceTokenizer.Batch(flat, new int[B * T], mask, B, T);
    }

    private static int countCorrect(Tensor logits, int[] y) {
        int correct = 0;
        for (int i = 0; i < y.length; i++) {
            correct += argmax(logits, i) == y[i] ? 1 : 0;
        }
        return correct;
    }

    private static int argmax(Tensor logits, int row) {
        int C = logits.dim(1);
        int best = 0;
        for (int c = 1; c < C; c++) {
            if (logits.get(row, c) > logits.get(row, best)) {
                best = c;
            }
        }
        return best;
    }
}
