package dev.lora4j.spark;

import dev.lora4j.train.SeqClsSetup;
import dev.lora4j.train.SeqClsTrainer;
import dev.lora4j.train.TrainOptions;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * Batch inference over a Spark {@code Dataset<Row>}: each partition loads the model (and adapter) once and
 * classifies its rows in batches, adding a {@code prediction} (class index) and a {@code probability} (of that
 * class) column, named as Spark ML names them.
 */
public final class SparkInference {
    private static final int BATCH = 64;

    private SparkInference() {
    }

    /**
     * Classifies the strings in {@code textColumn} of {@code input}.
     *
     * @param model     model directory every executor can read, or builtin:all-minilm-l6-v2
     * @param adapter   PEFT adapter directory every executor can read, or null
     * @param numLabels classes of a built-in model's head
     * @throws IllegalArgumentException if the column is missing or not a string
     */
    public static Dataset<Row> classify(Dataset<Row> input, String textColumn, String model, String adapter, int numLabels) {
        StructType schema = input.schema();
        if (!Arrays.asList(schema.fieldNames()).contains(textColumn)
                || !schema.apply(textColumn).dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("--text-column: the input has no string column '" + textColumn + "'; columns are "
                    + Arrays.toString(schema.fieldNames()));
        }
        StructType out = schema.add("prediction", DataTypes.IntegerType).add("probability", DataTypes.DoubleType);
        int column = schema.fieldIndex(textColumn);
        return input.mapPartitions(new Classify(model, adapter, numLabels, column), Encoders.row(out));
    }

    /**
     * Continues the prompts in {@code promptColumn} with a GPT-2 model (and adapter), adding a {@code generated}
     * column; each partition loads the model once.
     *
     * @throws IllegalArgumentException if the column is missing or not a string
     */
    public static Dataset<Row> generate(Dataset<Row> input, String promptColumn, String model, String adapter,
                                        dev.lora4j.generate.DecodingOptions options) {
        StructType schema = input.schema();
        if (!Arrays.asList(schema.fieldNames()).contains(promptColumn)
                || !schema.apply(promptColumn).dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("--prompt-column: the input has no string column '" + promptColumn + "'; columns are "
                    + Arrays.toString(schema.fieldNames()));
        }
        int column = schema.fieldIndex(promptColumn);
        return input.mapPartitions((MapPartitionsFunction<Row, Row>) rows -> {
            dev.lora4j.train.CausalLmSetup setup = dev.lora4j.train.CausalLmSetup.load(model);
            if (adapter != null) {
                dev.lora4j.lora.Adapters.apply(setup.model(), Path.of(adapter));
            }
            SharedBase.share(model, setup.model());
            dev.lora4j.generate.Generator generator = new dev.lora4j.generate.Generator(setup.model());
            dev.lora4j.generate.DecodingOptions withEos = new dev.lora4j.generate.DecodingOptions(options.maxNewTokens(),
                    options.numBeams(), options.lengthPenalty(), options.noRepeatNgramSize(), options.repetitionPenalty(),
                    setup.tokenizer().endOfTextId());
            List<Row> out = new ArrayList<>();
            while (rows.hasNext()) {
                Row r = rows.next();
                Object[] values = new Object[r.length() + 1];
                for (int k = 0; k < r.length(); k++) {
                    values[k] = r.get(k);
                }
                String prompt = r.isNullAt(column) ? "" : r.getString(column);
                values[r.length()] = prompt.isEmpty() ? "" : setup.tokenizer().decode(generator.generate(setup.tokenizer().encode(prompt), withEos)).strip();
                out.add(RowFactory.create(values));
            }
            return out.iterator();
        }, Encoders.row(schema.add("generated", DataTypes.StringType)));
    }

    private record Classify(String model, String adapter, int numLabels, int column) implements MapPartitionsFunction<Row, Row> {
        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            SeqClsTrainer classifier;
            try {
                SeqClsSetup setup = SeqClsSetup.load(model, numLabels, 0);
                if (adapter != null) {
                    dev.lora4j.lora.Adapters.apply(setup.model(), Path.of(adapter));
                }
                SharedBase.share(model, setup.model());
                classifier = new SeqClsTrainer(setup.model(), setup.tokenizer(),
                        new TrainOptions(1e-3f, 0f, 0, "constant", 1, 0, BATCH, 1, 0f, 0f, 0, 128, 0, 1));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return new Iterator<>() {
                private final List<Row> ready = new ArrayList<>();
                private int next;

                @Override
                public boolean hasNext() {
                    if (next < ready.size()) {
                        return true;
                    }
                    ready.clear();
                    next = 0;
                    List<Row> batch = new ArrayList<>();
                    while (batch.size() < BATCH && rows.hasNext()) {
                        batch.add(rows.next());
                    }
                    if (batch.isEmpty()) {
                        return false;
                    }
                    float[][] p = classifier.probabilities(batch.stream().map(r -> r.isNullAt(column) ? "" : r.getString(column)).toList());
                    for (int i = 0; i < batch.size(); i++) {
                        int best = 0;
                        for (int c = 1; c < p[i].length; c++) {
                            best = p[i][c] > p[i][best] ? c : best;
                        }
                        Object[] values = new Object[batch.get(i).length() + 2];
                        for (int k = 0; k < batch.get(i).length(); k++) {
                            values[k] = batch.get(i).get(k);
                        }
                        values[values.length - 2] = best;
                        values[values.length - 1] = (double) p[i][best];
                        ready.add(RowFactory.create(values));
                    }
                    return true;
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new java.util.NoSuchElementException();
                    }
                    return ready.get(next++);
                }
            };
        }
    }
}
