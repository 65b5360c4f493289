package dev.lora4j.spark;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.train.DistributedTraining;
import dev.lora4j.train.TrainOptions;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@link DistributedTraining} on Spark: what {@code lora4j train --spark} runs. */
public final class SparkDistributedTraining implements DistributedTraining {
    @Override
    public List<String> train(String task, String master, int tasks, String model, int numLabels, LoraConfig lora, TrainOptions options,
                              List<? extends java.io.Serializable> train, List<? extends java.io.Serializable> valid, String out,
                              int saveEvery) {
        if (!model.startsWith("builtin:") && !Files.isRegularFile(Path.of(model, "config.json"))) {
            throw new IllegalArgumentException("--model: " + model + " has no config.json (executors must be able to read the model "
                    + "directory at this path)");
        }
        SparkSession spark = SparkTrainer.session(master);
        spark.sparkContext().setLogLevel("WARN");
        try {
            SparkTrainer.Result r = SparkTrainer.train(spark, new SparkTrainer.Job(task, model, numLabels, lora, options, train, valid,
                    out, tasks, saveEvery, -1));
            System.out.printf("spark: %d tasks in %d JVMs; training %.1f s, all-reduce %.2f s; each task sent %,d bytes%n", tasks,
                    r.taskPids().size(), r.trainSeconds(), r.allReduceSeconds(), r.bytesSent());
            return r.steps();
        } finally {
            spark.stop();
        }
    }
}
