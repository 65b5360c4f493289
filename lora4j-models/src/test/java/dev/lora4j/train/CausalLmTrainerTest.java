package dev.lora4j.train;

import dev.lora4j.generate.DecodingOptions;
import dev.lora4j.generate.Generator;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.models.gpt2.Gpt2Config;
import dev.lora4j.models.gpt2.Gpt2LmHeadModel;
import dev.lora4j.tokenizer.Gpt2Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Causal-LM fine-tuning on a small random GPT-2 with the real GPT-2 vocabulary. */
class CausalLmTrainerTest {
    @TempDir
    Path tmp;

    private static final Gpt2Tokenizer TOKENIZER = Gpt2Tokenizer.gpt2();

    private static Gpt2LmHeadModel smallGpt2() {
        Gpt2LmHeadModel m = new Gpt2LmHeadModel(new Gpt2Config(50257, 64, 32, 2, 2, null, "gelu_new", 1e-5f, 0f, 0f), 4);
        dev.lora4j.nn.Init.normal(m.transformer().wte().weight().value(), 0f, 0.1f, new java.util.Random(1));
        return m;
    }

    private static List<PromptCompletion> pairs() {
        List<PromptCompletion> out = new ArrayList<>();
        String[] names = {"Alimentum", "Aromi", "Bibimbap", "Cotto", "Fitzbillies", "Giraffe"};
        String[] foods = {"Chinese", "French", "Italian"};
        for (int i = 0; i < names.length * foods.length; i++) {
            String n = names[i % names.length], f = foods[i / names.length];
            out.add(new PromptCompletion("name[" + n + "], food[" + f + "]", n + " serves " + f + " food.", i + 1));
        }
        return out;
    }

    @Test
    void lossCountsOnlyTheCompletionAndItsEndToken() {
        Gpt2LmHeadModel model = smallGpt2();
        CausalLmTrainer trainer = new CausalLmTrainer(model, TOKENIZER, new TrainOptions(1e-3f, 0f, 0, "constant", 1, 0, 4, 1, 0f, 0f, 1, 64, 0, 1));
        List<PromptCompletion> two = pairs().subList(0, 2);
        double expected = 0;
        int count = 0;
        for (PromptCompletion e : two) {
            CausalLmTrainer.Encoded enc = trainer.encode(e);
            int[] prompt = TOKENIZER.encode(e.prompt());
            assertEquals(prompt.length, enc.completionStart());
            assertEquals(TOKENIZER.endOfTextId(), enc.ids()[enc.ids().length - 1]);
            model.eval();
            float[] logits = model.forward(enc.ids(), 1, enc.ids().length).toFloatArray();
            for (int p = enc.completionStart() - 1; p + 1 < enc.ids().length; p++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int v = 0; v < 50257; v++) {
                    max = Math.max(max, logits[p * 50257 + v]);
                }
                for (int v = 0; v < 50257; v++) {
                    sum += Math.exp(logits[p * 50257 + v] - max);
                }
                expected += max + Math.log(sum) - logits[p * 50257 + enc.ids()[p + 1]];
                count++;
            }
        }
        assertEquals(expected / count, trainer.evaluate(two).loss(), 1e-4);
    }

    @Test
    void fineTuningMemorisesTheCompletionsAndGreedyDecodingWritesThem() {
        Gpt2LmHeadModel model = smallGpt2();
        CausalLmTrainer trainer = new CausalLmTrainer(model, TOKENIZER, new TrainOptions(1e-2f, 0f, 5, "linear", 40, 0, 6, 1, 1f, 0f, 2, 64, 0, 10));
        List<PromptCompletion> data = pairs();
        double before = trainer.evaluate(data).loss();
        TrainingLoop.Evaluation after = trainer.train(data, data, new TrainingLoop.Listener() {
        });
        assertTrue(after.loss() < 0.1 * before, "loss " + before + " -> " + after.loss());
        assertTrue(after.accuracy() > 0.9, "token accuracy " + after.accuracy());
        PromptCompletion first = data.get(0);
        int[] out = new Generator(model).generate(TOKENIZER.encode(first.prompt()), DecodingOptions.greedy(20, TOKENIZER.endOfTextId()));
        assertEquals(" " + first.completion(), TOKENIZER.decode(out));
    }

    @Test
    void loraOnCAttnTrainsOnlyTheAdapter() {
        Gpt2LmHeadModel model = smallGpt2();
        LoraModel.inject(model, LoraConfig.builder().r(4).loraAlpha(8).targetModules("c_attn").fanInFanOut(true).build(), 3);
        CausalLmTrainer trainer = new CausalLmTrainer(model, TOKENIZER, new TrainOptions(1e-2f, 0f, 0, "constant", 1, 4, 6, 1, 1f, 0f, 2, 64, 0, 10));
        float[] wte = model.transformer().wte().weight().value().toFloatArray();
        List<PromptCompletion> data = pairs();
        double before = trainer.evaluate(data).loss();
        trainer.train(data, List.of(), new TrainingLoop.Listener() {
        });
        assertTrue(trainer.evaluate(data).loss() < before);
        assertTrue(java.util.Arrays.equals(wte, model.transformer().wte().weight().value().toFloatArray()), "frozen wte changed");
    }

    @Test
    void badLinesNameFileAndLine() throws IOException {
        Path f = tmp.resolve("e2e.txt");
        Files.writeString(f, "name[Aromi]||Aromi is nice.\nno separator here\n");
        assertEquals(f + ":2: expected 'context||completion'", assertThrows(IOException.class, () -> CausalLmData.read(f)).getMessage());
        Files.writeString(f, "name[Aromi]||  \n");
        assertEquals(f + ":1: empty completion", assertThrows(IOException.class, () -> CausalLmData.read(f)).getMessage());
        Path j = tmp.resolve("d.jsonl");
        Files.writeString(j, "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"text\": \"c d\"}\n");
        assertEquals(List.of(new PromptCompletion("a", "b", 1), new PromptCompletion("", "c d", 2)), CausalLmData.read(j));
    }
}
