package dev.lora4j.lora;

import dev.lora4j.nn.Linear;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.tensor.Tensor;
import dev.lora4j.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.lora4j.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoraModelTest {
    private static final LoraConfig.Builder RANDOM = LoraConfig.builder().r(2).loraAlpha(4)
            .initLoraWeights(LoraConfig.InitLoraWeights.RANDOM);

    @Test
    void listTargetsMatchByNameOrDottedSuffix() {
        LoraModel m = LoraModel.inject(new ToyModel(1), LoraConfig.builder().targetModules("to_q", "to_out.0").build(), 1);
        assertEquals(List.of("layers.0.to_q", "layers.0.to_out.0", "layers.1.to_q", "layers.1.to_out.0"), m.targets("default"));
    }

    @Test
    void aStringTargetIsAFullMatchRegex() {
        LoraModel m = LoraModel.inject(new ToyModel(1), LoraConfig.builder().targetRegex(".*\\.1\\.to_[kv]").build(), 1);
        assertEquals(List.of("layers.1.to_k", "layers.1.to_v"), m.targets("default"));
    }

    @Test
    void allLinearSkipsTheOutputHeadAndExcludeModulesWins() {
        LoraConfig cfg = LoraConfig.builder().targetModules("all-linear")
                .excludeModules(TargetModules.ofList(List.of("to_k"))).build();
        LoraModel m = LoraModel.inject(new ToyModel(1), cfg, 1);
        assertEquals(List.of("layers.0.to_q", "layers.0.to_v", "layers.0.to_out.0",
                "layers.1.to_q", "layers.1.to_v", "layers.1.to_out.0"), m.targets("default"));
    }

    @Test
    void layersToTransformAndRankPattern() {
        LoraConfig cfg = LoraConfig.builder().targetModules("to_q", "to_v").layersToTransform(List.of(1))
                .rankPattern(Map.of("to_v", 5)).alphaPattern(Map.of("to_v", 10.0)).build();
        LoraModel m = LoraModel.inject(new ToyModel(1), cfg, 1);
        assertEquals(List.of("layers.1.to_q", "layers.1.to_v"), m.targets("default"));
        LoraLayer.Adapter v = m.loraLayers().get("layers.1.to_v").adapter("default");
        assertEquals(5, v.r());
        assertEquals(2f, v.scaling());
        assertEquals(8, m.loraLayers().get("layers.1.to_q").adapter("default").r());
    }

    @Test
    void nothingMatchedListsTargetsAndModuleNames() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraModel.inject(new ToyModel(1), LoraConfig.builder().targetModules("q_proj").build(), 1));
        assertTrue(e.getMessage().startsWith("Target modules [q_proj] not found in the base model."), e.getMessage());
        assertTrue(e.getMessage().contains("layers.0.to_q"), e.getMessage());
    }

    @Test
    void unsupportedTargetIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraModel.inject(new ToyModel(1), LoraConfig.builder().targetModules("to_out").build(), 1));
        assertEquals("Target module layers.0.to_out (Sequential) is not supported. Currently, only Linear, Conv1D, "
                + "Embedding and Conv2d are supported.", e.getMessage());
    }

    @Test
    void seedThreeFilterInjectionReportsReplacedModules() {
        ToyModel model = new ToyModel(1);
        LoraModel m = LoraModel.inject(model, name -> name.endsWith("to_k") || name.endsWith("to_v"), 4, 8, 0.0, 1);
        assertEquals(List.of("layers.0.to_k", "layers.0.to_v", "layers.1.to_k", "layers.1.to_v"), m.targets("default"));
        assertInstanceOf(LoraLinear.class, model.namedModules().get("layers.0.to_k"));
    }

    @Test
    void printsThePeftTreeAndTheTrainableLine() {
        ToyModel model = new ToyModel(1);
        LoraModel m = LoraModel.inject(model, LoraConfig.builder().r(4).targetModules("to_q").build(), 1);
        String tree = model.toString().replaceAll("\n {6}", "\n");
        assertTrue(tree.contains("""
                    (to_q): lora.Linear(
                      (base_layer): Linear(in_features=6, out_features=6, bias=True)
                      (lora_dropout): ModuleDict(
                        (default): Identity()
                      )
                      (lora_A): ModuleDict(
                        (default): Linear(in_features=6, out_features=4, bias=False)
                      )
                      (lora_B): ModuleDict(
                        (default): Linear(in_features=4, out_features=6, bias=False)
                      )
                      (lora_embedding_A): ParameterDict()
                      (lora_embedding_B): ParameterDict()
                      (lora_magnitude_vector): ModuleDict()
                    )"""), tree);
        // closed form: 2 blocks × 4 linears × (36 + 6) + classifier 21 = 357 base; LoRA 2 × (4·6 + 6·4) = 96
        assertEquals("trainable params: 96 || all params: 453 || trainable%: 21.1921", m.trainableParametersLine());
    }

    @Test
    void mergeAndUnloadGivesAPlainModelWithTheSameOutput() {
        ToyModel model = new ToyModel(1);
        LoraModel m = LoraModel.inject(model, RANDOM.targetModules("to_q", "to_v", "to_out.0").modulesToSave("classifier").build(), 3);
        Parameter copy = model.namedParameters().get("classifier.modules_to_save.default.weight");
        copy.value().fill(0.25f);
        Tensor x = GradCheck.random(1, 2, 3, 6);
        Tensor expected = model.forward(x).copy();
        Module plain = m.mergeAndUnload(true, null);
        assertInstanceOf(Linear.class, plain.namedModules().get("layers.0.to_q"));
        assertInstanceOf(Linear.class, plain.namedModules().get("classifier"));
        assertEquals(new ToyModel(1).namedParameters().keySet(), plain.namedParameters().keySet());
        assertClose(expected, plain.forward(x), 1e-5f, 1e-5f);
    }

    @Test
    void adaptersSwitchDisableAndDelete() throws Exception {
        ToyModel model = new ToyModel(1);
        Tensor x = GradCheck.random(1, 4, 6);
        Tensor base = model.forward(x).copy();
        LoraModel m = LoraModel.inject(model, RANDOM.targetModules("to_q").build(), 3);
        Tensor one = model.forward(x).copy();
        m.addAdapter("other", RANDOM.targetModules("to_v").build(), 4);
        assertEquals("other", m.activeAdapter());
        Tensor other = model.forward(x).copy();
        assertNotEquals(one.get(0, 0), other.get(0, 0));
        assertTrue(m.loraLayers().get("layers.0.to_v").adapterParameters("other").get(0).requiresGrad());
        assertFalse(m.loraLayers().get("layers.0.to_q").adapterParameters("default").get(0).requiresGrad());
        try (AutoCloseable off = m.disableAdapter()) {
            assertClose(base, model.forward(x), 0f, 0f);
        }
        m.setAdapter("default");
        assertClose(one, model.forward(x), 0f, 0f);
        m.setAdapters(List.of("default", "other"));    // both updates apply: the same as "default" merged + "other"
        Tensor both = model.forward(x).copy();
        m.merge(false, List.of("default"));
        m.setAdapters(List.of("other"));
        assertClose(both, model.forward(x), 1e-5f, 1e-5f);
        m.unmerge();
        m.setAdapter("default");
        m.deleteAdapter("default");
        assertEquals("other", m.activeAdapter());
        assertClose(other, model.forward(x), 1e-6f, 1e-6f);      // merge + unmerge rounded the base weights
        assertFalse(model.namedParameters().keySet().stream().anyMatch(k -> k.contains(".default.")));
    }

    @Test
    void biasModesAndModulesToSaveDecideWhatTrains() {
        ToyModel model = new ToyModel(1);
        LoraModel.inject(model, LoraConfig.builder().targetModules("to_q").bias(LoraConfig.Bias.LORA_ONLY)
                .taskType("SEQ_CLS").build(), 1);
        List<String> trainable = model.namedParameters().entrySet().stream().filter(e -> e.getValue().requiresGrad())
                .map(Map.Entry::getKey).filter(k -> k.startsWith("layers.0") || k.startsWith("classifier")).toList();
        assertEquals(List.of("layers.0.to_q.base_layer.bias", "layers.0.to_q.lora_A.default.weight",
                "layers.0.to_q.lora_B.default.weight", "classifier.modules_to_save.default.weight",
                "classifier.modules_to_save.default.bias"), trainable);
    }

    @Test
    void gradientsFlowThroughTheInjectedModel() {
        ToyModel model = new ToyModel(1);
        LoraModel.inject(model, RANDOM.targetModules("to_q", "to_v").useDora(false).build(), 3);
        GradCheck.assertModule(model, 4, 2, 6);
    }
}
