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
        Gpt2LmHeadModel m = new Gpt2LmHeadModel(new Gpt2Config(50257, 64, 32, 2, 2, null, "gelu_new", 1e-5f, 0f, 0f, null), 4);
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

    @Test
    void webNlgAndDartTriplesBecomeTheContext() throws IOException {
        Path webnlg = tmp.resolve("webnlg.json");
        Files.writeString(webnlg, """
                {"entries": [{"1": {"category": "Airport", "lexicalisations": [{"lex": "The leader of Aarhus is Jacob Bundsgaard."},
                  {"lex": "Jacob Bundsgaard leads Aarhus."}],
                  "modifiedtripleset": [{"object": "Jacob_Bundsgaard", "property": "leaderName", "subject": "Aarhus"},
                                        {"object": "\\"Denmark\\"", "property": "country", "subject": "Aarhus"}]}}]}""");
        assertEquals(List.of(
                new PromptCompletion("Aarhus : leaderName : Jacob Bundsgaard | Aarhus : country : Denmark", "The leader of Aarhus is Jacob Bundsgaard.", 1),
                new PromptCompletion("Aarhus : leaderName : Jacob Bundsgaard | Aarhus : country : Denmark", "Jacob Bundsgaard leads Aarhus.", 1)),
                CausalLmData.read(webnlg));
        Path dart = tmp.resolve("dart.json");
        Files.writeString(dart, "[{\"tripleset\": [[\"Mars Hill College\", \"JOINED\", \"1973\"]], "
                + "\"annotations\": [{\"source\": \"x\", \"text\": \"A school joined in 1973.\"}]}]");
        assertEquals(List.of(new PromptCompletion("Mars Hill College : JOINED : 1973", "A school joined in 1973.", 1)), CausalLmData.read(dart));
        Files.writeString(dart, "[{\"tripleset\": [[\"a\", \"b\"]], \"annotations\": []}]");
        assertEquals(dart + ": entry 1: a triple must have subject, property and object",
                assertThrows(IOException.class, () -> CausalLmData.read(dart)).getMessage());
    }

    @Test
    void splitByContextKeepsAllReferencesOfAContextTogether() {
        List<PromptCompletion> all = new ArrayList<>();
        for (int c = 0; c < 20; c++) {
            for (int r = 0; r <= c % 3; r++) {
                all.add(new PromptCompletion("mr" + c, "ref" + r, all.size() + 1));
            }
        }
        List<List<PromptCompletion>> split = CausalLmData.splitByContext(all, 0.25, 110);
        java.util.Set<String> train = new java.util.HashSet<>(split.get(0).stream().map(PromptCompletion::prompt).toList());
        java.util.Set<String> valid = new java.util.HashSet<>(split.get(1).stream().map(PromptCompletion::prompt).toList());
        assertEquals(5, valid.size());
        assertEquals(15, train.size());
        assertTrue(java.util.Collections.disjoint(train, valid));
        assertEquals(all.size(), split.get(0).size() + split.get(1).size());
        assertEquals(split, CausalLmData.splitByContext(all, 0.25, 110));
        assertThrows(IllegalArgumentException.class, () -> CausalLmData.splitByContext(all, 1.0, 1));
    }
}
