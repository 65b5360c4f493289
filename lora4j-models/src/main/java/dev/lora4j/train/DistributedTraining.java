package dev.lora4j.train;

import dev.lora4j.lora.LoraConfig;

import java.util.List;
import java.util.ServiceLoader;

/**
 * Data-parallel LoRA training on a cluster engine, found at run time ({@link ServiceLoader}) so that the
 * command line works without the engine on its class path: lora4j-spark provides it.
 */
public interface DistributedTraining {
    /**
     * Trains with {@code tasks} replicas: {@code task} seq-cls ({@link LabeledText} examples) or causal-lm
     * ({@link PromptCompletion} examples); returns one JSON line per logged step and evaluation (as
     * metrics.jsonl), after writing checkpoints and {@code out}/adapter.
     */
    List<String> train(String task, String master, int tasks, String model, int numLabels, LoraConfig lora, TrainOptions options,
                       List<? extends java.io.Serializable> train, List<? extends java.io.Serializable> valid, String out, int saveEvery);

    /**
     * The installed engine.
     *
     * @throws IllegalArgumentException naming how to get one when none is on the class path
     */
    static DistributedTraining find() {
        return ServiceLoader.load(DistributedTraining.class).findFirst().orElseThrow(() -> new IllegalArgumentException(
                "--spark: Spark is not on the class path; run it through ./lora4j (which adds lora4j-spark and Spark) "
                        + "or spark-submit lora4j-spark.jar"));
    }
}
