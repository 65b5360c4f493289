package dev.lora4j.train;

import dev.lora4j.models.gpt2.Gpt2LmHeadModel;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.tokenizer.Gpt2Tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * Fine-tunes GPT-2 on prompt/completion pairs with the shared {@link TrainingLoop}, as the LoRA paper's
 * gpt2_ft.py: each example is prompt + " " + completion + end-of-text, the loss (with optional label smoothing)
 * counts only the completion and the end token, and batches are padded to their longest example.
 */
public final class CausalLmTrainer {
    private final Gpt2LmHeadModel model;
    private final Gpt2Tokenizer tokenizer;
    private final TrainOptions options;
    private final TrainingLoop loop;

    /** An example as token ids: the whole sequence and where its completion starts. */
    record Encoded(int[] ids, int completionStart) {
    }

    /** A trainer of {@code model}'s parameters that have requiresGrad. */
    public CausalLmTrainer(Gpt2LmHeadModel model, Gpt2Tokenizer tokenizer, TrainOptions options) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.options = options;
        this.loop = new TrainingLoop(model, options);
    }

    /** The loop: step, optimizer, resume. */
    public TrainingLoop loop() {
        return loop;
    }

    /** Token ids of prompt + " " + completion + end-of-text, cut to maxLength, and where the completion starts. */
    Encoded encode(PromptCompletion e) {
        int[] prompt = e.prompt().isEmpty() ? new int[0] : tokenizer.encode(e.prompt());
        int[] completion = tokenizer.encode(e.prompt().isEmpty() ? e.completion() : " " + e.completion());
        // The model's n_positions caps --max-length as well: a longer window has no position embeddings.
        int maxLength = Math.min(options.maxLength(), model.transformer().config().nPositions());
        int n = Math.min(maxLength, prompt.length + completion.length + 1);
        if (prompt.length + 1 >= n) {
            throw new IllegalArgumentException("line " + e.line() + ": the prompt alone has " + prompt.length
                    + " tokens, more than the " + maxLength + " of --max-length and n_positions leave room for");
        }
        int[] ids = Arrays.copyOf(prompt, n);
        for (int i = prompt.length; i < n; i++) {
            int c = i - prompt.length;
            ids[i] = c < completion.length ? completion[c] : tokenizer.endOfTextId();
        }
        return new Encoded(ids, prompt.length);
    }

    /** Trains on {@code train}, evaluating loss and perplexity on {@code valid} (may be empty). */
    public TrainingLoop.Evaluation train(List<PromptCompletion> train, List<PromptCompletion> valid, TrainingLoop.Listener listener) {
        Encoded[] data = train.stream().map(this::encode).toArray(Encoded[]::new);
        CrossEntropyLoss lossFn = new CrossEntropyLoss(options.labelSmoothing(), CrossEntropyLoss.DEFAULT_IGNORE_INDEX);
        TrainingLoop.Task task = new TrainingLoop.Task() {
            @Override
            public int examples() {
                return data.length;
            }

            @Override
            public int length(int i) {
                return data[i].ids().length;
            }

            @Override
            public long lossTerms(int[] rows) {
                long n = 0;
                for (int r : rows) {
                    n += data[r].ids().length - Math.max(1, data[r].completionStart());
                }
                return n;
            }

            @Override
            public TrainingLoop.Result trainBatch(int[] rows, float lossScale) {
                Batch b = batch(data, rows);
                double loss = lossFn.forward(model.forward(b.ids, rows.length, b.length), b.targets, null);
                model.backward(lossFn.backwardInPlace(lossScale));   // the logits are not needed again
                return new TrainingLoop.Result(loss, b.predicted);
            }
        };
        return loop.run(task, valid.isEmpty() ? null : () -> evaluate(valid), listener);
    }

    /** Mean loss per completion token (without label smoothing), perplexity, and next-token accuracy. */
    public TrainingLoop.Evaluation evaluate(List<PromptCompletion> examples) {
        model.eval();
        Encoded[] data = examples.stream().map(this::encode).toArray(Encoded[]::new);
        CrossEntropyLoss lossFn = new CrossEntropyLoss();
        double lossSum = 0;
        long tokens = 0, correct = 0;
        int bs = options.batchSize();
        for (int from = 0; from < data.length; from += bs) {
            int[] rows = new int[Math.min(bs, data.length - from)];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = from + i;
            }
            Batch b = batch(data, rows);
            Tensor logits = model.forward(b.ids, rows.length, b.length);
            lossSum += lossFn.forward(logits, b.targets, null) * b.predicted;
            tokens += b.predicted;
            int V = logits.dim(2);
            float[] l = logits.toFloatArray();
            for (int p = 0; p < b.targets.length; p++) {
                if (b.targets[p] >= 0) {
                    int best = 0;
                    for (int v = 1; v < V; v++) {
                        best = l[p * V + v] > l[p * V + best] ? v : best;
                    }
                    correct += best == b.targets[p] ? 1 : 0;
                }
            }
        }
        return new TrainingLoop.Evaluation((double) correct / tokens, lossSum / tokens, data.length);
    }

    private record Batch(int[] ids, int[] targets, int length, long predicted) {
    }

    // Rows padded with end-of-text to the longest; targets are the next token inside the completion (and its end
    // token), the ignore index elsewhere.
    private Batch batch(Encoded[] data, int[] rows) {
        int T = 0;
        for (int r : rows) {
            T = Math.max(T, data[r].ids().length);
        }
        int[] ids = new int[rows.length * T];
        int[] targets = new int[rows.length * T];
        Arrays.fill(ids, tokenizer.endOfTextId());
        Arrays.fill(targets, CrossEntropyLoss.DEFAULT_IGNORE_INDEX);
        long predicted = 0;
        for (int i = 0; i < rows.length; i++) {
            Encoded e = data[rows[i]];
            System.arraycopy(e.ids(), 0, ids, i * T, e.ids().length);
            for (int p = Math.max(0, e.completionStart() - 1); p + 1 < e.ids().length; p++) {
                targets[i * T + p] = e.ids()[p + 1];
                predicted++;
            }
        }
        return new Batch(ids, targets, T, predicted);
    }
}
