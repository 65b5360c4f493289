package dev.lora4j.train;

/**
 * Optimisation settings of a training run, with transformers' Trainer defaults where one exists.
 *
 * @param lr             peak learning rate
 * @param weightDecay    AdamW decoupled weight decay
 * @param warmupSteps    linear warmup steps
 * @param schedule       constant, linear or cosine (after warmup)
 * @param epochs         passes over the training data
 * @param maxSteps       stop after this many optimizer steps if positive (overrides epochs)
 * @param batchSize      examples per forward pass
 * @param gradAccum      forward passes per optimizer step
 * @param clip           max global gradient norm, or 0 for none
 * @param labelSmoothing label smoothing of the loss
 * @param seed           seed of data order, dropout and initialisation
 * @param maxLength      longest sequence in tokens (longer ones are truncated)
 * @param evalEvery      evaluate every this many steps (0: only at the end)
 * @param logEvery       report progress every this many steps
 */
public record TrainOptions(float lr, float weightDecay, int warmupSteps, String schedule, int epochs, int maxSteps,
                           int batchSize, int gradAccum, float clip, float labelSmoothing, long seed, int maxLength,
                           int evalEvery, int logEvery) implements java.io.Serializable {
    /** Checks ranges; each error names the flag. */
    public TrainOptions {
        require(lr > 0 && Float.isFinite(lr), "--lr must be a positive number, got " + lr);
        require(weightDecay >= 0, "--weight-decay must be ≥ 0, got " + weightDecay);
        require(warmupSteps >= 0, "--warmup-steps must be ≥ 0, got " + warmupSteps);
        require(epochs > 0 || maxSteps > 0, "set --epochs or --max-steps to a positive number");
        require(batchSize > 0, "--batch-size must be positive, got " + batchSize);
        require(gradAccum > 0, "--grad-accum must be positive, got " + gradAccum);
        require(clip >= 0, "--clip must be ≥ 0 (0 turns clipping off), got " + clip);
        require(labelSmoothing >= 0 && labelSmoothing < 1, "--label-smoothing must be in [0, 1), got " + labelSmoothing);
        require(maxLength > 2, "--max-length must be at least 3, got " + maxLength);
        require(logEvery > 0, "--log-every must be positive, got " + logEvery);
        require(evalEvery >= 0, "--eval-every must be ≥ 0, got " + evalEvery);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
