package dev.lora4j.spark;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.train.LabeledText;
import dev.lora4j.train.SeqClsData;
import dev.lora4j.train.TrainOptions;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code lora4j spark train | classify}: the Spark entry point (run by {@code ./lora4j spark …} with an embedded
 * local[*] master, or by spark-submit on a cluster with {@code --master} left to spark-submit).
 */
@Command(name = "lora4j spark", mixinStandardHelpOptions = true,
        description = "lora4j on Apache Spark: data-parallel LoRA training and batch classification.",
        subcommands = {SparkMain.Train.class, SparkMain.Classify.class, SparkMain.Eval.class, SparkMain.Generate.class,
                CommandLine.HelpCommand.class})
public final class SparkMain implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Runs the command line and exits with its status; user mistakes are one line and status 1. */
    public static void main(String[] args) {
        System.exit(dev.lora4j.cli.Lora4j.withUserErrors(new CommandLine(new SparkMain()), "lora4j spark").execute(args));
    }

    static SparkSession session(String master) {
        SparkSession s = SparkTrainer.session(master);
        s.sparkContext().setLogLevel("WARN");
        return s;
    }

    /** Data-parallel LoRA training of a sequence classifier. */
    @Command(name = "train", mixinStandardHelpOptions = true, description = "Data-parallel LoRA fine-tuning (seq-cls) on Spark.")
    static final class Train implements Callable<Integer> {
        @Option(names = "--master", defaultValue = "local[*]", description = "Spark master (default: ${DEFAULT-VALUE}).")
        String master;

        @Option(names = "--tasks", defaultValue = "2", description = "Replicas, one per executor core (default: ${DEFAULT-VALUE}).")
        int tasks;

        @Option(names = "--model", required = true, description = "Model directory all executors can read, or builtin:all-minilm-l6-v2.")
        String model;

        @Option(names = "--train", required = true, description = "Training data (TSV sentence/label or JSONL).")
        java.nio.file.Path train;

        @Option(names = "--valid", description = "Validation data.")
        java.nio.file.Path valid;

        @Option(names = "--out", required = true, description = "Output folder all executors can write.")
        String out;

        @Option(names = "--r", defaultValue = "8") int r;
        @Option(names = "--alpha", defaultValue = "16") double alpha;
        @Option(names = "--dropout", defaultValue = "0.1") double dropout;
        @Option(names = "--targets", defaultValue = "query,value", split = ",") List<String> targets;
        @Option(names = "--lr", defaultValue = "5e-4") float lr;
        @Option(names = "--epochs", defaultValue = "1") int epochs;
        @Option(names = "--max-steps", defaultValue = "0") int maxSteps;
        @Option(names = "--batch-size", defaultValue = "32", description = "Global batch, split over the tasks.") int batchSize;
        @Option(names = "--warmup-steps", defaultValue = "0") int warmup;
        @Option(names = "--seed", defaultValue = "42") long seed;
        @Option(names = "--save-every", defaultValue = "0") int saveEvery;
        @Option(names = "--num-labels", defaultValue = "2") int numLabels;

        @Override
        public Integer call() throws IOException {
            List<LabeledText> data = SeqClsData.read(train);
            List<LabeledText> validData = valid == null ? List.of() : SeqClsData.read(valid);
            LoraConfig lora = LoraConfig.builder().r(r).loraAlpha(alpha).loraDropout(dropout).targetModules(targets.toArray(String[]::new))
                    .taskType("SEQ_CLS").baseModelNameOrPath(model).build();
            TrainOptions options = new TrainOptions(lr, 0.01f, warmup, "linear", epochs, maxSteps, batchSize, 1, 1f, 0f, seed, 128, 0, 10);
            SparkSession spark = session(master);
            try {
                long t0 = System.nanoTime();
                SparkTrainer.Result result = SparkTrainer.train(spark, new SparkTrainer.Job(model, numLabels, lora, options, data, validData,
                        out, tasks, saveEvery, -1));
                result.steps().forEach(System.out::println);
                System.out.printf("done in %.0f s on %d tasks (%d JVMs): training %.1f s, of which all-reduce %.2f s; each task sent %,d bytes "
                                + "of gradients; adapter in %s/adapter%n", (System.nanoTime() - t0) / 1e9, tasks, result.taskPids().size(),
                        result.trainSeconds(), result.allReduceSeconds(), result.bytesSent(), out);
            } finally {
                spark.stop();
            }
            return 0;
        }
    }

    /** Batch classification of a text column. */
    @Command(name = "classify", mixinStandardHelpOptions = true, description = "Classify a column of texts (JSONL, CSV or Parquet in; Parquet or JSONL out).")
    static final class Classify implements Callable<Integer> {
        @Option(names = "--master", defaultValue = "local[*]", description = "Spark master (default: ${DEFAULT-VALUE}).")
        String master;

        @Option(names = "--model", required = true) String model;
        @Option(names = "--adapter") String adapter;
        @Option(names = "--num-labels", defaultValue = "2") int numLabels;
        @Option(names = "--input", required = true, description = "Input file or folder: .jsonl/.json, .csv (with header), .tsv or .parquet.") String input;
        @Option(names = "--output", required = true, description = "Output folder; .jsonl ending writes JSON lines, otherwise Parquet.") String output;
        @Option(names = "--text-column", defaultValue = "sentence") String textColumn;

        @Override
        public Integer call() {
            SparkSession spark = session(master);
            try {
                Dataset<Row> in = read(spark, input);
                write(SparkInference.classify(in, textColumn, model, adapter, numLabels), output);
                System.out.println("classified " + in.count() + " rows into " + output);
            } finally {
                spark.stop();
            }
            return 0;
        }

        static Dataset<Row> read(SparkSession spark, String path) {
            if (path.endsWith(".parquet")) {
                return spark.read().parquet(path);
            }
            if (path.endsWith(".csv") || path.endsWith(".tsv")) {
                return spark.read().option("header", "true").option("sep", path.endsWith(".tsv") ? "\t" : ",").csv(path);
            }
            if (path.endsWith(".jsonl") || path.endsWith(".json")) {
                return spark.read().json(path);
            }
            throw new IllegalArgumentException("--input: " + path + " is not .jsonl, .json, .csv, .tsv or .parquet");
        }
    }

    static void write(Dataset<Row> result, String output) {
        if (output.endsWith(".jsonl") || output.endsWith(".json")) {
            result.write().mode("overwrite").json(output);
        } else {
            result.write().mode("overwrite").parquet(output);
        }
    }

    /** Accuracy of a classifier (and adapter) over labelled data of any size. */
    @Command(name = "eval", mixinStandardHelpOptions = true, description = "Accuracy over a labelled file (JSONL, CSV/TSV or Parquet).")
    static final class Eval implements Callable<Integer> {
        @Option(names = "--master", defaultValue = "local[*]") String master;
        @Option(names = "--model", required = true) String model;
        @Option(names = "--adapter") String adapter;
        @Option(names = "--num-labels", defaultValue = "2") int numLabels;
        @Option(names = "--data", required = true, description = "Input with a text column and a label column.") String data;
        @Option(names = "--text-column", defaultValue = "sentence") String textColumn;
        @Option(names = "--label-column", defaultValue = "label") String labelColumn;

        @Override
        public Integer call() {
            SparkSession spark = session(master);
            try {
                Dataset<Row> in = Classify.read(spark, data);
                if (!java.util.Arrays.asList(in.columns()).contains(labelColumn)) {
                    throw new IllegalArgumentException("--label-column: " + data + " has no column '" + labelColumn + "'");
                }
                Dataset<Row> out = SparkInference.classify(in, textColumn, model, adapter, numLabels);
                long total = out.count();
                long correct = out.filter(org.apache.spark.sql.functions.col("prediction")
                        .equalTo(org.apache.spark.sql.functions.col(labelColumn).cast("int"))).count();
                System.out.println(dev.lora4j.io.PythonJson.dumpsLine(java.util.Map.of("accuracy", (double) correct / total, "examples", total)));
            } finally {
                spark.stop();
            }
            return 0;
        }
    }

    /** Batch generation with a GPT-2 model (and adapter). */
    @Command(name = "generate", mixinStandardHelpOptions = true, description = "Continue a column of prompts; Parquet or JSONL out.")
    static final class Generate implements Callable<Integer> {
        @Option(names = "--master", defaultValue = "local[*]") String master;
        @Option(names = "--model", required = true) String model;
        @Option(names = "--adapter") String adapter;
        @Option(names = "--input", required = true) String input;
        @Option(names = "--output", required = true) String output;
        @Option(names = "--prompt-column", defaultValue = "prompt") String promptColumn;
        @Option(names = "--max-new-tokens", defaultValue = "64") int maxNewTokens;
        @Option(names = "--num-beams", defaultValue = "1") int numBeams;
        @Option(names = "--length-penalty", defaultValue = "1.0") double lengthPenalty;
        @Option(names = "--no-repeat-ngram-size", defaultValue = "0") int noRepeat;
        @Option(names = "--repetition-penalty", defaultValue = "1.0") double repetitionPenalty;

        @Override
        public Integer call() {
            dev.lora4j.generate.DecodingOptions options = new dev.lora4j.generate.DecodingOptions(maxNewTokens, numBeams, lengthPenalty,
                    noRepeat, repetitionPenalty, -1);
            SparkSession spark = session(master);
            try {
                Dataset<Row> in = Classify.read(spark, input);
                write(SparkInference.generate(in, promptColumn, model, adapter, options), output);
                System.out.println("generated for " + in.count() + " rows into " + output);
            } finally {
                spark.stop();
            }
            return 0;
        }
    }
}
