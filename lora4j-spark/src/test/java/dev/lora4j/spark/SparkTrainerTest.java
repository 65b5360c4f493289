package dev.lora4j.spark;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.PeftAdapter;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TinyModels;
import dev.lora4j.train.LabeledText;
import dev.lora4j.train.SeqClsData;
import dev.lora4j.train.SeqClsSetup;
import dev.lora4j.train.SeqClsTrainer;
import dev.lora4j.train.TrainOptions;
import dev.lora4j.train.TrainingLoop;
import dev.lora4j.nn.Parameter;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Data-parallel training in a Spark barrier stage (two tasks in local mode) against one process. */
class SparkTrainerTest {
    private static SparkSession spark;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().master("local[2,3]").appName("lora4j-test").config("spark.ui.enabled", "false")
                .config("spark.barrier.sync.timeout", "300s").getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static final LoraConfig LORA = LoraConfig.builder().r(4).loraAlpha(8).targetModules("query", "value")
            .taskType("SEQ_CLS").build();

    private static TrainOptions options(int steps) {
        return new TrainOptions(5e-3f, 0.01f, 2, "linear", 1, steps, 8, 1, 1f, 0f, 7, 16, 0, 1);
    }

    private Path model() throws Exception {
        return TinyModels.bert(tmp.resolve("bert"));
    }

    /** The same run in one process with the whole batch: the reference. */
    private static List<Double> singleProcess(Path model, List<LabeledText> train, TrainOptions options, Path adapterOut) throws Exception {
        SeqClsSetup setup = SeqClsSetup.load(model.toString(), 2, options.seed());
        LoraModel lora = LoraModel.inject(setup.model(), LORA, options.seed());
        List<Double> losses = new ArrayList<>();
        new SeqClsTrainer(setup.model(), setup.tokenizer(), options).train(train, List.of(), new TrainingLoop.Listener() {
            @Override
            public void onStep(TrainingLoop.Step s) {
                losses.add(s.loss());
            }
        });
        PeftAdapter.save(lora, lora.activeAdapter(), adapterOut);
        return losses;
    }

    private static List<Double> losses(SparkTrainer.Result r) {
        return r.steps().stream().filter(l -> l.contains("\"loss\"") && !l.contains("eval"))
                .map(l -> Double.parseDouble(l.replaceAll(".*\"loss\": ([-0-9.eE]+).*", "$1"))).toList();
    }

    private static void assertSameAdapter(Path expected, Path actual) throws Exception {
        SafeTensors.Contents a = SafeTensors.read(expected.resolve(PeftAdapter.WEIGHTS_FILE));
        SafeTensors.Contents b = SafeTensors.read(actual.resolve(PeftAdapter.WEIGHTS_FILE));
        assertEquals(a.names(), b.names());
        for (String n : a.names()) {
            assertClose(a.tensor(n), b.tensor(n), 1e-5f, 1e-4f);
        }
    }

    @Test
    void twoReplicasEqualOneProcessWithTheWholeBatch() throws Exception {
        Path model = model();
        // dropout off: replicas draw masks for their own rows, a single process for all rows
        Path modelNoDropout = tmp.resolve("bert");
        Files.writeString(modelNoDropout.resolve("config.json"), Files.readString(modelNoDropout.resolve("config.json"))
                .replace("\"hidden_dropout_prob\": 0.1", "\"hidden_dropout_prob\": 0.0"));
        List<LabeledText> train = SeqClsData.read(TinyModels.sentiment(tmp.resolve("train.tsv"), 64, 1));
        TrainOptions options = options(6);
        List<Double> reference = singleProcess(model, train, options, tmp.resolve("single"));

        Path out = tmp.resolve("spark");
        SparkTrainer.Result r = SparkTrainer.train(spark, new SparkTrainer.Job(model.toString(), 2, LORA, options, train, List.of(),
                out.toString(), 2, 0, -1));
        List<Double> distributed = losses(r);
        assertEquals(reference.size(), distributed.size());
        for (int i = 0; i < reference.size(); i++) {
            assertEquals(reference.get(i), distributed.get(i), 1e-5 * Math.max(1, Math.abs(reference.get(i))), "loss at step " + (i + 1));
        }
        assertSameAdapter(tmp.resolve("single"), out.resolve("adapter"));
        assertTrue(r.bytesSent() > 0);
    }

    @Test
    void aFailedStageResumesFromTheLastCheckpointAndEndsWhereAnUninterruptedRunEnds() throws Exception {
        Path model = model();
        List<LabeledText> train = SeqClsData.read(TinyModels.sentiment(tmp.resolve("train.tsv"), 64, 2));
        TrainOptions options = options(6);
        Path clean = tmp.resolve("clean");
        SparkTrainer.train(spark, new SparkTrainer.Job(model.toString(), 2, LORA, options, train, List.of(), clean.toString(), 2, 2, -1));
        Path failing = tmp.resolve("failing");
        SparkTrainer.Result r = SparkTrainer.train(spark, new SparkTrainer.Job(model.toString(), 2, LORA, options, train, List.of(),
                failing.toString(), 2, 2, 3));
        assertTrue(Files.exists(failing.resolve("checkpoint-6")));
        assertEquals(6, (long) Double.parseDouble(r.steps().get(r.steps().size() - 1).replaceAll(".*\"step\": ([0-9]+).*", "$1")));
        assertSameAdapter(clean.resolve("adapter"), failing.resolve("adapter"));
    }

    @Test
    @org.junit.jupiter.api.Timeout(300)
    void runsOnTwoExecutorJvmsOfALocalCluster() throws Exception {
        // Spark's launcher looks for a distribution's jars folder under spark.test.home; executors get this JVM's
        // class path instead (spark.testing), so an empty folder is enough.
        Files.createDirectories(Path.of(System.getProperty("spark.test.home", "target"), "assembly", "target", "scala-2.13", "jars"));
        Path model = model();
        List<LabeledText> train = SeqClsData.read(TinyModels.sentiment(tmp.resolve("train.tsv"), 32, 3));
        Path out = tmp.resolve("cluster");
        spark.stop();
        SparkSession cluster = null;
        try {
            // local-cluster starts a standalone master and two workers in this JVM; each worker launches an executor JVM
            cluster = SparkSession.builder().master("local-cluster[2,1,1024]").appName("lora4j-cluster")
                    .config("spark.ui.enabled", "false").config("spark.barrier.sync.timeout", "300s")
                    .config("spark.executor.extraJavaOptions", System.getProperty("lora4j.test.executorJvmFlags", ""))
                    .getOrCreate();
            SparkTrainer.Result r = SparkTrainer.train(cluster, new SparkTrainer.Job(model.toString(), 2, LORA, options(3), train,
                    List.of(), out.toString(), 2, 0, -1));
            assertEquals(2, r.taskPids().size(), "tasks ran in " + r.taskPids());
            assertTrue(!r.taskPids().contains(ProcessHandle.current().pid()), "a task ran in the driver JVM");
            assertTrue(Files.exists(out.resolve("adapter").resolve(PeftAdapter.WEIGHTS_FILE)));
        } finally {
            if (cluster != null) {
                cluster.stop();
            }
            start();
        }
    }

    @Test
    void causalLmReplicasEqualOneProcess() throws Exception {
        Path model = TinyModels.gpt2(tmp.resolve("gpt2"));
        Path data = tmp.resolve("e2e.txt");
        StringBuilder lines = new StringBuilder();
        for (String n : List.of("Aromi", "Cotto", "Bibimbap", "Giraffe", "Wildwood", "Zizzi", "Strada", "Alimentum")) {
            lines.append("name[").append(n).append("]||").append(n).append(" is a restaurant.\n");
        }
        Files.writeString(data, lines.toString());
        List<dev.lora4j.train.PromptCompletion> train = dev.lora4j.train.CausalLmData.read(data);
        LoraConfig lora = LoraConfig.builder().r(2).loraAlpha(4).targetModules("c_attn").fanInFanOut(true).taskType("CAUSAL_LM").build();
        TrainOptions options = new TrainOptions(1e-2f, 0f, 0, "constant", 1, 3, 4, 1, 1f, 0f, 3, 32, 0, 1);
        dev.lora4j.train.CausalLmSetup setup = dev.lora4j.train.CausalLmSetup.load(model.toString());
        LoraModel.inject(setup.model(), lora, options.seed());
        List<Double> reference = new ArrayList<>();
        new dev.lora4j.train.CausalLmTrainer(setup.model(), setup.tokenizer(), options).train(train, List.of(), new TrainingLoop.Listener() {
            @Override
            public void onStep(TrainingLoop.Step s) {
                reference.add(s.loss());
            }
        });
        SparkTrainer.Result r = SparkTrainer.train(spark, new SparkTrainer.Job("causal-lm", model.toString(), 2, lora, options, train,
                List.of(), tmp.resolve("lm").toString(), 2, 0, -1));
        List<Double> distributed = losses(r);
        assertEquals(reference.size(), distributed.size());
        for (int i = 0; i < reference.size(); i++) {
            assertEquals(reference.get(i), distributed.get(i), 1e-4, "loss at step " + (i + 1));
        }
    }

    @Test
    void replicasWhoseAdaptersDifferInShapeFailWithAClearError() {
        JavaRDD<Integer> two = JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(List.of(0, 1), 2);
        Exception e = assertThrows(Exception.class, () -> JavaRDD.fromRDD(two.rdd().barrier().mapPartitions(new MismatchedReplica(), false,
                ClassTag$.MODULE$.apply(String.class)), ClassTag$.MODULE$.apply(String.class)).collect());
        String messages = "";
        for (Throwable t = e; t != null; t = t.getCause()) {
            messages += t.getMessage() + "\n";
        }
        assertTrue(messages.contains("the replicas' adapters differ in shape: task"), messages);
        assertTrue(messages.contains("(2, 3)") || messages.contains("(3, 2)"), messages);
    }

    /** A barrier task whose one trainable tensor is 2×3 on task 0 and 3×2 on task 1: as many values, other shapes. */
    private static final class MismatchedReplica extends AbstractFunction1<scala.collection.Iterator<Integer>, scala.collection.Iterator<String>>
            implements java.io.Serializable {
        @Override
        public scala.collection.Iterator<String> apply(scala.collection.Iterator<Integer> rows) {
            BarrierTaskContext context = BarrierTaskContext.get();
            Parameter p = new Parameter(context.partitionId() == 0 ? Tensor.zeros(2, 3) : Tensor.zeros(3, 2));
            p.grad();
            try (RingAllReduce ring = new RingAllReduce(context)) {
                ring.allReduce(List.of(p), 0.0);
            }
            return CollectionConverters.asScala(List.of("reduced").iterator());
        }
    }
}
