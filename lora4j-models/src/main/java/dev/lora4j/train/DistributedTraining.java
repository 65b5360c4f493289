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
     * Trains a sequence classifier with {@code tasks} replicas; returns one JSON line per logged step and
     * evaluation (as metrics.jsonl), after writing checkpoints and {@code out}/adapter.
     */
    List<String> trainSeqCls(String master, int tasks, String model, int numLabels, LoraConfig lora, TrainOptions options,
                             List<LabeledText> train, List<LabeledText> valid, String out, int saveEvery);

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
