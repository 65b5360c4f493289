package dev.lora4j.models;

import dev.lora4j.io.SafeTensors;
import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.models.gpt2.Gpt2LmHeadModel;
import dev.lora4j.nn.CrossEntropyLoss;
import dev.lora4j.nn.Parameter;
import dev.lora4j.optim.Sgd;
import dev.lora4j.tensor.Storage;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Float32 matrices of a loaded checkpoint stay in the file's mapping: a model loaded that way computes, trains
 * and merges exactly as one whose weights were copied to the heap, LoRA training never copies the base, and
 * whatever writes a weight works on a copy and leaves the file alone.
 */
class MappedWeightsTest {
    private static final int[] IDS = {464, 3290, 318, 257, 922, 1110, 13, 383, 50256, 11, 262, 7, 1, 2, 3, 4};
    private static final int[] LABELS = {3290, 318, 257, 922, 1110, 13, 383, 50256, 11, 262, 7, 1, 2, 3, 4, -100};

    @TempDir
    Path tmp;

    // The reference: the same checkpoint copied into heap arrays (what loading did before mapping).
    private static Gpt2LmHeadModel copied(Path dir) throws Exception {
        SafeTensors.Contents file = SafeTensors.read(dir.resolve(HfModelDir.WEIGHTS_FILE));
        Gpt2LmHeadModel model = new Gpt2LmHeadModel(HfModelDir.readConfig(dir, dev.lora4j.models.gpt2.Gpt2Config.class), 0);
        HfModelDir.loadWeights(name -> file.names().contains(name) ? file.tensor(name) : null, "copy", model, "transformer.", Set.of());
        return model;
    }

    private static Map<String, Storage> storages(Gpt2LmHeadModel m) {
        return m.namedParameters().entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().value().storage()));
    }

    private static double trainLora(Gpt2LmHeadModel model, int steps) {
        LoraModel.inject(model, LoraConfig.builder().r(2).loraAlpha(4).targetModules("c_attn").fanInFanOut(true)
                .initLoraWeights(LoraConfig.InitLoraWeights.GAUSSIAN).build(), 7);
        Sgd sgd = new Sgd(model.trainableParameters(), 0.9f, 0f, false);
        CrossEntropyLoss lossFn = new CrossEntropyLoss();
        double loss = 0;
        for (int s = 0; s < steps; s++) {
            model.zeroGrad();
            loss = lossFn.forward(model.forward(IDS, 2, 8), LABELS, null);
            model.backward(lossFn.backward(1f));
            sgd.step(1e-1f);
        }
        return loss;
    }

    @Test
    void loraTrainingReadsTheBaseFromTheMappingAndMatchesACopiedBase() throws Exception {
        Path dir = TinyModels.gpt2(tmp.resolve("gpt2"));
        Gpt2LmHeadModel mapped = Gpt2LmHeadModel.load(dir);
        Map<String, Storage> before = storages(mapped);
        assertInstanceOf(Storage.Mapped.class, before.get("transformer.h.0.attn.c_attn.weight"));
        assertInstanceOf(Storage.Mapped.class, before.get("transformer.wte.weight"));
        // Vectors are copied into Java arrays (the model was built without allocating any until then).
        assertTrue(before.get("transformer.h.0.attn.c_attn.bias") instanceof Storage.Mapped bias && !bias.readsMapping());
        java.util.List<String> inPlace = before.entrySet().stream()
                .filter(e -> e.getValue() instanceof Storage.Mapped m && m.readsMapping()).map(Map.Entry::getKey).toList();
        assertEquals(6, inPlace.size(), inPlace.toString());   // wte, wpe and the one layer's c_attn, c_proj, c_fc, mlp.c_proj
        // Saving the base writes the mapped bytes as they are: the same file again, and still nothing copied.
        Path again = tmp.resolve("again");
        Files.createDirectories(again);
        Map<String, Tensor> base = new java.util.TreeMap<>();
        SafeTensors.Contents original = SafeTensors.read(dir.resolve(HfModelDir.WEIGHTS_FILE));
        for (String name : original.names()) {
            base.put(name, mapped.namedParameters().get("transformer." + name).value());
        }
        SafeTensors.write(again.resolve(HfModelDir.WEIGHTS_FILE), base, original.metadata());
        assertArrayEquals(Files.readAllBytes(dir.resolve(HfModelDir.WEIGHTS_FILE)), Files.readAllBytes(again.resolve(HfModelDir.WEIGHTS_FILE)));

        Gpt2LmHeadModel reference = copied(dir);
        mapped.eval();
        reference.eval();
        assertClose(reference.forward(IDS, 2, 8), mapped.forward(IDS, 2, 8), 0f, 0f);

        mapped.train(true);
        reference.train(true);
        // Equal to float rounding: a lane reduction may sum in another order before the JIT has compiled it.
        double referenceLoss = trainLora(reference, 3);
        assertEquals(referenceLoss, trainLora(mapped, 3), 1e-6 * referenceLoss);
        Map<String, Parameter> params = mapped.namedParameters();
        Map<String, Parameter> refParams = reference.namedParameters();
        for (String name : params.keySet()) {
            if (name.contains("lora_")) {
                assertClose(refParams.get(name).value(), params.get(name).value(), 1e-6f, 1e-5f);
            }
        }
        // Zero-copy held: forward, backward and the optimizer never asked for the base as a Java array.
        for (String name : inPlace) {
            assertTrue(((Storage.Mapped) before.get(name)).readsMapping(), name + " was copied out of the mapping");
        }
    }

    @Test
    void writingAMappedWeightWorksOnACopyAndLeavesTheFileAlone() throws Exception {
        Path dir = TinyModels.gpt2(tmp.resolve("gpt2"));
        byte[] file = Files.readAllBytes(dir.resolve(HfModelDir.WEIGHTS_FILE));
        Gpt2LmHeadModel mapped = Gpt2LmHeadModel.load(dir);
        Gpt2LmHeadModel reference = copied(dir);
        // Full fine-tuning: the optimizer writes every weight.
        for (Gpt2LmHeadModel m : List.of(mapped, reference)) {
            // SGD: AdamW would turn a rounding-sized difference in a near-zero gradient into a step of lr.
            Sgd sgd = new Sgd(m.trainableParameters(), 0.9f, 0f, false);
            CrossEntropyLoss lossFn = new CrossEntropyLoss();
            for (int s = 0; s < 2; s++) {
                m.zeroGrad();
                lossFn.forward(m.forward(IDS, 2, 8), LABELS, null);
                m.backward(lossFn.backward(1f));
                sgd.step(1e-1f);
            }
        }
        Tensor wte = mapped.namedParameters().get("transformer.wte.weight").value();
        assertTrue(wte.storage() instanceof Storage.Mapped m && m.isCopied());
        Map<String, Parameter> refParams = reference.namedParameters();
        mapped.namedParameters().forEach((name, p) -> assertClose(refParams.get(name).value(), p.value(), 1e-6f, 1e-5f));
        assertArrayEquals(file, Files.readAllBytes(dir.resolve(HfModelDir.WEIGHTS_FILE)));
    }

    @Test
    void mergingIntoAMappedBaseMatchesACopiedBase() throws Exception {
        Path dir = TinyModels.gpt2(tmp.resolve("gpt2"));
        Gpt2LmHeadModel mapped = Gpt2LmHeadModel.load(dir);
        Gpt2LmHeadModel reference = copied(dir);
        for (Gpt2LmHeadModel m : List.of(mapped, reference)) {
            LoraModel lora = LoraModel.inject(m, LoraConfig.builder().r(2).loraAlpha(4).targetModules("c_attn", "c_fc")
                    .fanInFanOut(true).initLoraWeights(LoraConfig.InitLoraWeights.GAUSSIAN).build(), 9);
            lora.loraLayers().values().forEach(l -> l.namedParameters().forEach((n, p) -> {
                if (n.contains("lora_B")) {
                    java.util.Arrays.fill(p.value().data(), 0.01f);
                }
            }));
            lora.mergeAndUnload(true, null);
        }
        Map<String, Parameter> refParams = reference.namedParameters();
        assertEquals(refParams.keySet(), mapped.namedParameters().keySet());
        mapped.namedParameters().forEach((name, p) -> assertClose(refParams.get(name).value(), p.value(), 1e-6f, 1e-6f));
    }
}
