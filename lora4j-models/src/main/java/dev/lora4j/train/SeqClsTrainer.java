package dev.lora4j.train;

import dev.lora4j.models.bert.SequenceClassifier;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tokenizer.SequenceTokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * Fine-tunes a BERT-family sequence classifier (BERT, MiniLM, RoBERTa) with the shared {@link TrainingLoop}: texts are tokenized once, each
 * micro-batch is padded to its longest text, and the loss is cross-entropy over the labels.
 */
public final class SeqClsTrainer {
    private final SequenceClassifier model;
    private final SequenceTokenizer tokenizer;
    private final TrainOptions options;
    private final TrainingLoop loop;

    /** A trainer of {@code model}'s parameters that have requiresGrad. */
    public SeqClsTrainer(SequenceClassifier model, SequenceTokenizer tokenizer, TrainOptions options) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.options = options;
        this.loop = new TrainingLoop(model, options);
    }

    /** The loop: step, optimizer, resume. */
    public TrainingLoop loop() {
        return loop;
    }

    /** Optimizer steps a run over {@code examples} examples takes. */
    public long totalSteps(int examples) {
        return loop.totalSteps(examples);
    }

    /** Trains on {@code train}, evaluating on {@code valid} (may be empty) every evalEvery steps and at the end. */
    public TrainingLoop.Evaluation train(List<LabeledText> train, List<LabeledText> valid, TrainingLoop.Listener listener) {
        checkLabels(train);
        int[][] ids = encode(train);
        int[] labels = train.stream().mapToInt(LabeledText::label).toArray();
        CrossEntropyLoss lossFn = new CrossEntropyLoss(options.labelSmoothing(), CrossEntropyLoss.DEFAULT_IGNORE_INDEX);
        TrainingLoop.Task task = new TrainingLoop.Task() {
            @Override
            public int examples() {
                return ids.length;
            }

            @Override
            public int length(int i) {
                return ids[i].length;
            }

            @Override
            public TrainingLoop.Result trainBatch(int[] rows, float lossScale) {
                SequenceTokenizer.Batch b = pad(ids, rows);
                int[] y = new int[rows.length];
                for (int i = 0; i < rows.length; i++) {
                    y[i] = labels[rows[i]];
                }
                Tensor logits = model.forward(b.ids(), b.tokenTypes(), b.mask(), b.batchSize(), b.length());
                double loss = lossFn.forward(logits, y, null);
                model.backward(lossFn.backward(lossScale));
                long tokens = 0;
                for (int r : rows) {
                    tokens += ids[r].length;
                }
                return new TrainingLoop.Result(loss, tokens);
            }
        };
        return loop.run(task, valid.isEmpty() ? null : () -> evaluate(valid), listener);
    }

    /** Accuracy and mean loss of the model in eval mode over {@code data}. */
    public TrainingLoop.Evaluation evaluate(List<LabeledText> data) {
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
            SequenceTokenizer.Batch b = pad(ids, batch);
            Tensor logits = model.forward(b.ids(), b.tokenTypes(), b.mask(), b.batchSize(), b.length());
            lossSum += lossFn.forward(logits, y, null) * batch.length;
            correct += countCorrect(logits, y);
        }
        return new TrainingLoop.Evaluation((double) correct / data.size(), lossSum / data.size(), data.size());
    }

    /** Predicted class of each text, in eval mode. */
    public int[] predict(List<String> texts) {
        float[][] p = probabilities(texts);
        int[] out = new int[p.length];
        for (int i = 0; i < out.length; i++) {
            for (int c = 1; c < p[i].length; c++) {
                out[i] = p[i][c] > p[i][out[i]] ? c : out[i];
            }
        }
        return out;
    }

    /** Class probabilities (softmax of the logits) of each text, in eval mode. */
    public float[][] probabilities(List<String> texts) {
        model.eval();
        int[][] ids = texts.stream().map(t -> tokenizer.encodePair(t, null, options.maxLength()).ids()).toArray(int[][]::new);
        int[] all = new int[ids.length];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        SequenceTokenizer.Batch b = pad(ids, all);
        Tensor logits = model.forward(b.ids(), b.tokenTypes(), b.mask(), b.batchSize(), b.length());
        int C = logits.dim(1);
        float[] l = logits.toFloatArray();
        float[][] out = new float[ids.length][C];
        for (int i = 0; i < ids.length; i++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int c = 0; c < C; c++) {
                max = Math.max(max, l[i * C + c]);
            }
            double sum = 0;
            for (int c = 0; c < C; c++) {
                sum += Math.exp(l[i * C + c] - max);
            }
            for (int c = 0; c < C; c++) {
                out[i][c] = (float) (Math.exp(l[i * C + c] - max) / sum);
            }
        }
        return out;
    }

    private void checkLabels(List<LabeledText> data) {
        int numLabels = model.numLabels();
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

    private SequenceTokenizer.Batch pad(int[][] ids, int[] rows) {
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
        return new SequenceTokenizer.Batch(flat, new int[B * T], mask, B, T);
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
