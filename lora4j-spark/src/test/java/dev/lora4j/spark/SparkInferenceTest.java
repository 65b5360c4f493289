package dev.lora4j.spark;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.PeftAdapter;
import dev.lora4j.testing.TinyModels;
import dev.lora4j.train.LabeledText;
import dev.lora4j.train.SeqClsData;
import dev.lora4j.train.SeqClsSetup;
import dev.lora4j.train.SeqClsTrainer;
import dev.lora4j.train.TrainOptions;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Batch classification over a Dataset, against the same model and adapter in one process. */
class SparkInferenceTest {
    @TempDir
    Path tmp;

    @Test
    void classifiesEveryRowAsTheSingleProcessModelDoes() throws Exception {
        Path model = TinyModels.bert(tmp.resolve("bert"));
        SeqClsSetup setup = SeqClsSetup.load(model.toString(), 2, 0);
        LoraModel lora = LoraModel.inject(setup.model(), LoraConfig.builder().r(2).targetModules("query", "value")
                .initLoraWeights(LoraConfig.InitLoraWeights.RANDOM).taskType("SEQ_CLS").build(), 3);
        PeftAdapter.save(lora, lora.activeAdapter(), tmp.resolve("adapter"));
        List<LabeledText> data = SeqClsData.read(TinyModels.sentiment(tmp.resolve("d.tsv"), 150, 4));
        List<String> texts = data.stream().map(LabeledText::text).toList();
        SeqClsTrainer local = new SeqClsTrainer(setup.model(), setup.tokenizer(),
                new TrainOptions(1e-3f, 0f, 0, "constant", 1, 0, 64, 1, 0f, 0f, 0, 128, 0, 1));
        float[][] expected = local.probabilities(texts);

        SparkSession spark = SparkSession.builder().master("local[2]").appName("lora4j-test").config("spark.ui.enabled", "false").getOrCreate();
        StructType schema = new StructType().add("id", DataTypes.IntegerType).add("sentence", DataTypes.StringType);
        List<Row> rows = new java.util.ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            rows.add(RowFactory.create(i, texts.get(i)));
        }
        Dataset<Row> input = spark.createDataFrame(rows, schema).repartition(3);
        List<Row> out = SparkInference.classify(input, "sentence", model.toString(), tmp.resolve("adapter").toString(), 2).collectAsList();
        assertEquals(texts.size(), out.size());
        for (Row r : out) {
            int i = r.getInt(0);
            int label = r.getInt(2);
            assertEquals(expected[i][1] > expected[i][0] ? 1 : 0, label, "row " + i);
            assertEquals(expected[i][label], r.getDouble(3), 1e-5);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SparkInference.classify(input, "text", model.toString(), null, 2));
        assertEquals("--text-column: the input has no string column 'text'; columns are [id, sentence]", e.getMessage());
    }

    @Test
    void generatesForEveryRowAsTheSingleProcessGeneratorDoes() throws Exception {
        Path model = TinyModels.gpt2(tmp.resolve("gpt2"));
        dev.lora4j.train.CausalLmSetup setup = dev.lora4j.train.CausalLmSetup.load(model.toString());
        dev.lora4j.generate.DecodingOptions options = new dev.lora4j.generate.DecodingOptions(4, 2, 1.0, 2, 1.0, -1);
        List<String> prompts = List.of("name[Aromi]", "name[Cotto], food[Italian]", "the");
        SparkSession spark = SparkSession.builder().master("local[2]").appName("lora4j-test").config("spark.ui.enabled", "false").getOrCreate();
        StructType schema = new StructType().add("prompt", DataTypes.StringType);
        Dataset<Row> input = spark.createDataFrame(prompts.stream().map(p -> RowFactory.create(p)).toList(), schema).repartition(2);
        List<Row> out = dev.lora4j.spark.SparkInference.generate(input, "prompt", model.toString(), null, options).collectAsList();
        assertEquals(3, out.size());
        dev.lora4j.generate.Generator generator = new dev.lora4j.generate.Generator(setup.model());
        dev.lora4j.generate.DecodingOptions withEos = new dev.lora4j.generate.DecodingOptions(4, 2, 1.0, 2, 1.0, setup.tokenizer().endOfTextId());
        for (Row r : out) {
            String expected = setup.tokenizer().decode(generator.generate(setup.tokenizer().encode(r.getString(0)), withEos)).strip();
            assertEquals(expected, r.getString(1), r.getString(0));
        }
    }
}
