package dev.lora4j.cli;

import dev.lora4j.kernels.Parallel;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.lora.PeftAdapter;
import dev.lora4j.models.AutoModel;
import dev.lora4j.models.bert.BertForSequenceClassification;
import dev.lora4j.nn.Module;
import dev.lora4j.tokenizer.WordPieceTokenizer;
import dev.lora4j.train.LabeledText;
import dev.lora4j.train.SeqClsData;
import dev.lora4j.train.SeqClsTrainer;
import dev.lora4j.train.TrainingLoop;
import dev.lora4j.train.TrainOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * The embedded default job: LoRA fine-tuning of the real pretrained all-MiniLM-L6-v2 (from its Maven Central
 * artifact) on SST-2 sentiment (shipped in data/sst2), start to finish: dev accuracy before, training with
 * progress, dev accuracy after, the adapter saved in PEFT's format, merged into the base weights, and a few
 * predictions from the merged model.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Fine-tune the pretrained all-MiniLM-L6-v2 with LoRA on SST-2 sentiment, save, merge and predict.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--data", defaultValue = "data/sst2", description = "Folder with train.tsv and dev.tsv (default: ${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--out", defaultValue = "runs/demo", description = "Where the adapter and merged model go (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--train-examples", defaultValue = "12000", description = "Training sentences used, 0 for all (default: ${DEFAULT-VALUE}).")
    int trainExamples;

    @Option(names = "--epochs", defaultValue = "1", description = "Passes over the training sentences (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "32", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", defaultValue = "1e-3", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    float lr;

    @Option(names = "--r", defaultValue = "8", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
    int rank;

    @Option(names = "--alpha", defaultValue = "16", description = "LoRA alpha (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws IOException {
        PrintStream o = System.out;
        List<LabeledText> train = SeqClsData.read(requireFile(data.resolve("train.tsv")));
        List<LabeledText> dev = SeqClsData.read(requireFile(data.resolve("dev.tsv")));
        if (trainExamples > 0 && trainExamples < train.size()) {
            train = new ArrayList<>(train);
            Collections.shuffle(train, new Random(seed));
            train = train.subList(0, trainExamples);
        }
        o.printf("lora4j demo: LoRA fine-tuning of all-MiniLM-L6-v2 on SST-2 sentiment (%d threads)%n", Parallel.threads());
        long t0 = System.nanoTime();
        BertForSequenceClassification model = (BertForSequenceClassification) AutoModel.load(AutoModel.BUILTIN_MINILM, 2, seed).model();
        WordPieceTokenizer tokenizer = WordPieceTokenizer.fromTokenizerJson(
                new ByteArrayInputStream(AutoModel.resourceBytes(AutoModel.MINILM_TOKENIZER)), AutoModel.MINILM_TOKENIZER.substring(1));
        o.printf("[1/6] imported the pretrained model from the Maven Central artifact (%,d parameters) in %.1f s%n",
                model.namedParameters().values().stream().mapToLong(p -> p.numel()).sum(), seconds(t0));

        TrainOptions probe = new TrainOptions(lr, 0.01f, 0, "linear", epochs, 0, batchSize, 1, 1f, 0f, seed, 128, 0, 25);
        int warmup = (int) Math.min(100, new SeqClsTrainer(model, tokenizer, probe).totalSteps(train.size()) / 10);
        TrainOptions options = new TrainOptions(lr, 0.01f, warmup, "linear", epochs, 0, batchSize, 1, 1f, 0f, seed, 128, 0, 25);
        SeqClsTrainer trainer = new SeqClsTrainer(model, tokenizer, options);
        TrainingLoop.Evaluation before = trainer.evaluate(dev);
        o.printf("[2/6] dev accuracy before fine-tuning (untrained classifier head): %.2f%% on %,d sentences%n",
                100 * before.accuracy(), before.examples());

        LoraConfig loraConfig = LoraConfig.builder().r(rank).loraAlpha(alpha).loraDropout(0.1)
                .targetModules("query", "value").modulesToSave("classifier").taskType("SEQ_CLS")
                .baseModelNameOrPath("sentence-transformers/all-MiniLM-L6-v2").build();
        LoraModel lora = LoraModel.inject(model, loraConfig, seed);
        trainer = new SeqClsTrainer(model, tokenizer, options);
        o.printf("[3/6] LoRA r=%d, alpha=%s on query/value, classifier trained in full: %s%n", rank, fmt(alpha),
                lora.trainableParametersLine());
        o.printf("      training on %,d sentences, %d epoch(s), batch %d, %,d steps%n", train.size(), epochs, batchSize,
                trainer.totalSteps(train.size()));
        TrainingLoop.Evaluation after = trainer.train(train, dev, new ProgressPrinter(o));
        o.printf("[4/6] dev accuracy after fine-tuning: %.2f%% (was %.2f%%), loss %.4f%n", 100 * after.accuracy(),
                100 * before.accuracy(), after.loss());

        Path adapterDir = out.resolve("adapter");
        PeftAdapter.save(lora, adapterDir);
        o.printf("[5/6] adapter saved in PEFT format: %s (%s, %s)%n", adapterDir, PeftAdapter.CONFIG_FILE, PeftAdapter.WEIGHTS_FILE);

        List<String> samples = List.of("a gorgeous , witty , seductive movie .", "the plot is nothing but boilerplate clichés",
                "it 's a charming and often affecting journey .", "an ugly , pointless , stupid movie .");
        int[] adapted = trainer.predict(samples);
        Module merged = lora.mergeAndUnload(true, null);
        int[] fromMerged = trainer.predict(samples);
        TrainingLoop.Evaluation mergedEval = trainer.evaluate(dev);
        o.printf("[6/6] merged the adapter into the base weights (%s): dev accuracy %.2f%%%n", merged.typeName(),
                100 * mergedEval.accuracy());
        for (int i = 0; i < samples.size(); i++) {
            o.printf("      %-9s %s%n", fromMerged[i] == 1 ? "positive" : "negative", samples.get(i));
            if (fromMerged[i] != adapted[i]) {
                o.println("      (the merged model disagrees with the adapter here)");
            }
        }
        o.printf("done in %.0f s. Adapter: %s%n", seconds(t0), adapterDir.toAbsolutePath());
        return after.accuracy() >= 0.5 ? 0 : 1;
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    private static Path requireFile(Path p) {
        if (!Files.isRegularFile(p)) {
            throw new IllegalArgumentException("--data: " + p + " not found (run from the lora4j folder, or pass --data DIR with train.tsv and dev.tsv)");
        }
        return p;
    }
}
