package dev.lora4j.optim;

/**
 * A learning rate as a pure function of the optimizer step (0-based), as Hugging Face's schedulers: the rate
 * used for step s is {@code learningRate(s)}.
 */
@FunctionalInterface
public interface LrSchedule {
    /** The learning rate for step {@code step}. */
    float learningRate(long step);

    /** The same rate at every step. */
    static LrSchedule constant(float lr) {
        return step -> lr;
    }

    /**
     * Linear warmup from 0 to {@code lr} over {@code warmupSteps}, then linear decay to 0 at {@code totalSteps};
     * transformers' get_linear_schedule_with_warmup, as the LoRA paper's GPT-2 recipe uses.
     */
    static LrSchedule linearWarmupDecay(float lr, long warmupSteps, long totalSteps) {
        check(warmupSteps, totalSteps);
        return step -> {
            if (step < warmupSteps) {
                return lr * step / Math.max(1, warmupSteps);
            }
            return lr * Math.max(0f, (float) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
        };
    }

    /**
     * Linear warmup, then half a cosine from {@code lr} down to 0 at {@code totalSteps};
     * transformers' get_cosine_schedule_with_warmup.
     */
    static LrSchedule cosineWarmup(float lr, long warmupSteps, long totalSteps) {
        check(warmupSteps, totalSteps);
        return step -> {
            if (step < warmupSteps) {
                return lr * step / Math.max(1, warmupSteps);
            }
            double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
            return (float) (lr * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress))));
        };
    }

    /**
     * A schedule by name: {@code constant}, {@code linear} or {@code cosine}.
     *
     * @throws IllegalArgumentException for any other name
     */
    static LrSchedule named(String name, float lr, long warmupSteps, long totalSteps) {
        return switch (name) {
            case "constant" -> constant(lr);
            case "linear" -> linearWarmupDecay(lr, warmupSteps, totalSteps);
            case "cosine" -> cosineWarmup(lr, warmupSteps, totalSteps);
            default -> throw new IllegalArgumentException("schedule '" + name + "' is unknown, expected constant, linear or cosine");
        };
    }

    private static void check(long warmupSteps, long totalSteps) {
        if (warmupSteps < 0 || totalSteps <= 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("schedule: need 0 ≤ warmup_steps ≤ total_steps and total_steps > 0, got warmup="
                    + warmupSteps + ", total=" + totalSteps);
        }
    }
}
