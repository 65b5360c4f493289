package dev.lora4j.train;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.models.bert.BertForSequenceClassification;
import dev.lora4j.tokenizer.WordPieceTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The training loop end to end on the tiny random BERT fixture and a task whose answer is one word. */
class SeqClsTrainerTest {
    private static final List<String> POSITIVE = List.of("good", "great", "fine", "nice", "superb");
    private static final List<String> NEGATIVE = List.of("bad", "awful", "poor", "sad", "dull");
    private static final List<String> FILLER = List.of("the", "a", "movie", "film", "plot", "is", "was", "very", "and", "cast");

    @TempDir
    Path tmp;

    private static List<LabeledText> sentences(int n, long seed) {
        Random r = new Random(seed);
        List<LabeledText> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int label = r.nextInt(2);
            List<String> words = new ArrayList<>();
            for (int k = 0, len = 2 + r.nextInt(6); k < len; k++) {
                words.add(FILLER.get(r.nextInt(FILLER.size())));
            }
            List<String> cue = label == 1 ? POSITIVE : NEGATIVE;
            words.add(r.nextInt(words.size() + 1), cue.get(r.nextInt(cue.size())));
            out.add(new LabeledText(String.join(" ", words), label, i + 1));
        }
        return out;
    }

    private WordPieceTokenizer tokenizer() throws Exception {
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]"));
        vocab.addAll(POSITIVE);
        vocab.addAll(NEGATIVE);
        vocab.addAll(FILLER);
        Files.write(tmp.resolve("vocab.txt"), vocab);
        return WordPieceTokenizer.load(tmp);
    }

    private static Path bertTiny() throws Exception {
        return Path.of(SeqClsTrainerTest.class.getResource("/fixtures/models/bert-tiny").toURI());
    }

    @Test
    void loraTrainingLearnsTheCueWordAndMergingKeepsPredictions() throws Exception {
        BertForSequenceClassification model = BertForSequenceClassification.load(bertTiny(), 1);
        LoraModel lora = LoraModel.inject(model, LoraConfig.builder().r(4).loraAlpha(8).targetModules("all-linear")
                .taskType("SEQ_CLS").build(), 1);
        TrainOptions options = new TrainOptions(1e-2f, 0f, 10, "linear", 6, 0, 16, 1, 1f, 0f, 3, 16, 0, 10);
        SeqClsTrainer trainer = new SeqClsTrainer(model, tokenizer(), options);
        List<LabeledText> valid = sentences(200, 99);
        double before = trainer.evaluate(valid).accuracy();
        List<Long> steps = new ArrayList<>();
        TrainingLoop.Evaluation after = trainer.train(sentences(400, 1), valid, new TrainingLoop.Listener() {
            @Override
            public void onStep(TrainingLoop.Step s) {
                steps.add(s.step());
            }
        });
        assertEquals(trainer.totalSteps(400), steps.get(steps.size() - 1));
        assertTrue(after.accuracy() >= 0.95, "accuracy " + after.accuracy() + " (before " + before + ")");
        List<String> probes = valid.stream().limit(20).map(LabeledText::text).toList();
        int[] adapted = trainer.predict(probes);
        lora.mergeAndUnload(true, null);
        assertEquals(java.util.Arrays.toString(adapted), java.util.Arrays.toString(trainer.predict(probes)));
    }

    @Test
    void aLabelBeyondTheHeadIsAnErrorNamingTheLine() throws Exception {
        BertForSequenceClassification model = BertForSequenceClassification.load(bertTiny(), 1);
        SeqClsTrainer trainer = new SeqClsTrainer(model, tokenizer(), new TrainOptions(1e-3f, 0f, 0, "constant", 1, 0, 4, 1, 0f, 0f, 1, 16, 0, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> trainer.evaluate(List.of(new LabeledText("good", 5, 17))));
        assertEquals("line 17: label 5 but the model has 3 labels (0…2)", e.getMessage());
    }
}
