package dev.lora4j.spark;

import dev.lora4j.io.PythonJson;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.PeftAdapter;
import dev.lora4j.nn.Module;
import dev.lora4j.train.CausalLmSetup;
import dev.lora4j.train.CausalLmTrainer;
import dev.lora4j.train.Checkpoint;
import dev.lora4j.train.LabeledText;
import dev.lora4j.train.SeqClsSetup;
import dev.lora4j.train.SeqClsTrainer;
import dev.lora4j.train.TrainOptions;
import dev.lora4j.train.TrainingLoop;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Data-parallel LoRA fine-tuning of a sequence classifier on Spark. One barrier stage runs {@code tasks}
 * replicas; each loads the frozen base model and the same freshly initialised adapter, follows the same
 * global batch order (the seed decides it), processes its share of every batch, and after the backward pass
 * the replicas sum their adapter gradients ({@link RingAllReduce}), so all apply the identical AdamW
 * update: the run equals one process with the whole batch, up to float rounding (and dropout masks, which
 * each replica draws for its own rows). Task 0 is the only committer: it writes the checkpoints and the final
 * adapter, atomically. If the stage fails, Spark retries it and every replica resumes from the last checkpoint.
 */
public final class SparkTrainer {
    private SparkTrainer() {
    }

    /**
     * A training job, shipped to the tasks.
     *
     * @param task      seq-cls ({@link LabeledText} examples) or causal-lm ({@link dev.lora4j.train.PromptCompletion})
     * @param model     model directory all executors can read, or builtin:all-minilm-l6-v2
     * @param numLabels classes
     * @param lora      the adapter's config
     * @param options   optimisation settings; batchSize is the global batch, split over the tasks
     * @param train     training examples
     * @param valid     validation examples (task 0 evaluates); may be empty
     * @param out       output directory all executors can write (checkpoints, adapter)
     * @param tasks     replicas
     * @param saveEvery checkpoint every this many steps (0: only at the end)
     * @param failAt    for fault-injection tests: the first attempt of task 0 fails after this step (-1: never)
     */
    public record Job(String task, String model, int numLabels, LoraConfig lora, TrainOptions options,
                      List<? extends Serializable> train, List<? extends Serializable> valid, String out, int tasks, int saveEvery,
                      long failAt) implements Serializable {
        /** A sequence-classification job ({@link LabeledText} examples). */
        public Job(String model, int numLabels, LoraConfig lora, TrainOptions options, List<LabeledText> train,
                   List<LabeledText> valid, String out, int tasks, int saveEvery, long failAt) {
            this("seq-cls", model, numLabels, lora, options, train, valid, out, tasks, saveEvery, failAt);
        }

        /** Checks the task name. */
        public Job {
            if (!task.equals("seq-cls") && !task.equals("causal-lm")) {
                throw new IllegalArgumentException("--task: expected seq-cls or causal-lm, got '" + task + "'");
            }
        }
    }

    /**
     * What came back to the driver.
     *
     * @param steps      one JSON line per logged step and evaluation (from task 0), as metrics.jsonl
     * @param finalLoss  the training loss of the last logged step
     * @param bytesSent  bytes each task sent for all-reduce, in total
     * @param taskPids   the process ids of the JVMs the tasks ran in
     * @param trainSeconds    task 0's time in the training loop
     * @param allReduceSeconds task 0's time in all-reduce (part of trainSeconds)
     */
    public record Result(List<String> steps, double finalLoss, long bytesSent, java.util.Set<Long> taskPids,
                         double trainSeconds, double allReduceSeconds) {
    }

    /** A local session for {@code master} (e.g. local[2]) with barrier time-outs so a lost task cannot hang the job. */
    public static SparkSession session(String master) {
        requireReachable(master);
        return SparkSession.builder().master(master).appName("lora4j")
                .config("spark.ui.enabled", "false")
                .config("spark.barrier.sync.timeout", "900s")
                .config("spark.rpc.message.maxSize", "512")
                .getOrCreate();
    }

    /**
     * Fails fast with a clear message when a standalone master (spark://host:port, several separated by commas)
     * does not accept connections: Spark itself would retry for about a minute and then stop with an internal error.
     */
    static void requireReachable(String master) {
        if (!master.startsWith("spark://")) {
            return;
        }
        String problem = null;
        for (String hostPort : master.substring("spark://".length()).split(",")) {
            int colon = hostPort.lastIndexOf(':');
            String host = colon < 0 ? hostPort : hostPort.substring(0, colon);
            int port = colon < 0 ? 7077 : Integer.parseInt(hostPort.substring(colon + 1));
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(new java.net.InetSocketAddress(host, port), 5000);
                return;
            } catch (IOException e) {
                problem = hostPort + ": " + e.getMessage();
            }
        }
        throw new IllegalArgumentException("--master: cannot reach " + master + " (" + problem + ")");
    }

    /** Runs {@code job} on {@code spark} and returns task 0's report. */
    public static Result train(SparkSession spark, Job job) {
        if (job.tasks() <= 0 || job.tasks() > job.options().batchSize()) {
            throw new IllegalArgumentException("--spark-tasks must be between 1 and the batch size " + job.options().batchSize()
                    + ", got " + job.tasks());
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        JavaRDD<Integer> slots = jsc.parallelize(IntStream.range(0, job.tasks()).boxed().toList(), job.tasks());
        // The shuffle after the barrier stage makes it a map stage, which Spark retries as a whole when a task
        // fails (a failed barrier result stage would abort the job); the retry resumes from the last checkpoint.
        List<String> reports = JavaRDD.fromRDD(slots.rdd().barrier().mapPartitions(new Replica(job), false,
                ClassTag$.MODULE$.apply(String.class)), ClassTag$.MODULE$.apply(String.class)).coalesce(1, true).collect();
        List<String> steps = new ArrayList<>();
        double loss = Double.NaN;
        long bytes = 0;
        java.util.Set<Long> pids = new java.util.TreeSet<>();
        double trainSeconds = Double.NaN, reduceSeconds = Double.NaN;
        for (String r : reports) {
            if (r.startsWith("train_s=")) {
                trainSeconds = Double.parseDouble(r.substring(8));
            } else if (r.startsWith("reduce_s=")) {
                reduceSeconds = Double.parseDouble(r.substring(9));
            } else if (r.startsWith("pid=")) {
                pids.add(Long.parseLong(r.substring(4)));
            } else if (r.startsWith("bytes=")) {
                bytes = Math.max(bytes, Long.parseLong(r.substring(6)));
            } else if (r.startsWith("loss=")) {
                loss = Double.parseDouble(r.substring(5));
            } else {
                steps.add(r);
            }
        }
        steps.sort(java.util.Comparator.comparingLong(SparkTrainer::stepOf).thenComparing(l -> l.contains("eval_")));
        return new Result(steps, loss, bytes, pids, trainSeconds, reduceSeconds);
    }

    /** The task body: one replica of the data-parallel run. */
    private static final class Replica extends AbstractFunction1<scala.collection.Iterator<Integer>, scala.collection.Iterator<String>>
            implements Serializable {
        private final Job job;

        Replica(Job job) {
            this.job = job;
        }

        @Override
        public scala.collection.Iterator<String> apply(scala.collection.Iterator<Integer> ignored) {
            try {
                return CollectionConverters.asScala(run(BarrierTaskContext.get()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private Iterator<String> run(BarrierTaskContext ctx) throws IOException {
            int index = ctx.partitionId();
            int count = ctx.getTaskInfos().length;
            boolean committer = index == 0;
            Module net;
            LoraModel lora;
            TrainingLoop loop;
            java.util.function.Function<TrainingLoop.Listener, TrainingLoop.Evaluation> train;
            if (job.task().equals("causal-lm")) {
                CausalLmSetup setup = CausalLmSetup.load(job.model());
                net = setup.model();
                lora = LoraModel.inject(net, job.lora(), job.options().seed());
                SharedBase.share(job.model(), net);
                CausalLmTrainer trainer = new CausalLmTrainer(setup.model(), setup.tokenizer(), job.options());
                loop = trainer.loop();
                train = l -> trainer.train(cast(job.train()), committer ? cast(job.valid()) : List.of(), l);
            } else {
                SeqClsSetup setup = SeqClsSetup.load(job.model(), job.numLabels(), job.options().seed());
                net = setup.model();
                lora = LoraModel.inject(net, job.lora(), job.options().seed());
                SharedBase.share(job.model(), net);
                SeqClsTrainer trainer = new SeqClsTrainer(setup.model(), setup.tokenizer(), job.options());
                loop = trainer.loop();
                train = l -> trainer.train(cast(job.train()), committer ? cast(job.valid()) : List.of(), l);
            }
            loop.shard(index, count);
            RingAllReduce allReduce = new RingAllReduce(ctx);
            loop.setGradientSync(allReduce);
            Path out = Path.of(job.out());
            Path resumeFrom = latestCheckpoint(out);
            if (resumeFrom != null) {
                Checkpoint.State state = Checkpoint.load(resumeFrom, net, lora, loop.optimizer());
                loop.resumeAt(state.globalStep());
            }
            ctx.barrier();   // everyone has read the checkpoint before task 0 may write the next one
            List<String> report = new ArrayList<>();
            double[] lastLoss = {Double.NaN};
            boolean firstAttempt = ctx.attemptNumber() == 0 && ctx.stageAttemptNumber() == 0;
            long t0 = System.nanoTime();
            train.apply(new TrainingLoop.Listener() {
                @Override
                public void onStep(TrainingLoop.Step s) {
                    lastLoss[0] = s.loss();
                    if (committer) {
                        report.add(line(Map.of("step", s.step(), "loss", s.loss(), "lr", s.lr())));
                    }
                }

                @Override
                public void onEvaluation(long step, TrainingLoop.Evaluation e) {
                    report.add(line(Map.of("step", step, "eval_accuracy", e.accuracy(), "eval_loss", e.loss())));
                }

                @Override
                public void onStepEnd(long step) {
                    if (committer && job.saveEvery() > 0 && step % job.saveEvery() == 0) {
                        save(out.resolve("checkpoint-" + step), net, lora, loop, step);
                    }
                    if (committer && firstAttempt && step == job.failAt()) {
                        throw new IllegalStateException("injected failure after step " + step);
                    }
                }
            });
            if (committer) {
                report.add("train_s=" + (System.nanoTime() - t0) / 1e9);
                report.add("reduce_s=" + allReduce.seconds());
                save(out.resolve("checkpoint-" + loop.step()), net, lora, loop, loop.step());
                PeftAdapter.save(lora, lora.activeAdapter(), out.resolve("adapter"));
                report.add("loss=" + lastLoss[0]);
            }
            report.add("bytes=" + allReduce.bytesSent());
            allReduce.close();
            report.add("pid=" + ProcessHandle.current().pid());
            return report.iterator();
        }

        private static String line(Map<String, Object> values) {
            return PythonJson.dumpsLine(new LinkedHashMap<>(values));
        }

        @SuppressWarnings("unchecked")
        private static <T> List<T> cast(List<? extends Serializable> examples) {
            return (List<T>) examples;
        }

        private static void save(Path dir, Module net, LoraModel lora, TrainingLoop loop, long step) {
            try {
                Checkpoint.save(dir, net, lora, loop.optimizer(), new Checkpoint.State(step, Double.NaN, -1));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private static long stepOf(String line) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"step\": (\\d+)").matcher(line);
        return m.find() ? Long.parseLong(m.group(1)) : Long.MAX_VALUE;
    }

    /** The checkpoint-N folder with the largest N under {@code out}, or null. */
    static Path latestCheckpoint(Path out) throws IOException {
        if (!Files.isDirectory(out)) {
            return null;
        }
        try (Stream<Path> dirs = Files.list(out)) {
            return dirs.filter(p -> p.getFileName().toString().matches("checkpoint-\\d+"))
                    .max((a, b) -> Long.compare(step(a), step(b))).orElse(null);
        }
    }

    private static long step(Path p) {
        return Long.parseLong(p.getFileName().toString().substring("checkpoint-".length()));
    }
}
