package dev.lora4j.spark;

import dev.lora4j.lora.LoraConfig;
import dev.lora4j.lora.LoraModel;
import dev.lora4j.nn.Module;
import dev.lora4j.nn.Parameter;
import dev.lora4j.testing.TinyModels;
import dev.lora4j.train.SeqClsSetup;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SharedBaseTest {
    @TempDir
    Path tmp;

    private static final LoraConfig LORA = LoraConfig.builder().r(2).loraAlpha(4).targetModules("query", "value")
            .bias(LoraConfig.Bias.ALL).taskType("SEQ_CLS").build();

    private static Module replica(Path base, long headSeed) throws Exception {
        Module net = SeqClsSetup.load(base.toString(), 2, headSeed).model();
        LoraModel.inject(net, LORA, 1);
        return net;
    }

    @Test
    void tasksOfAnExecutorShareTheFrozenBaseAndKeepWhatTheyTrain() throws Exception {
        Path base = TinyModels.bert(tmp.resolve("bert"));
        Module first = replica(base, 3);
        Module second = replica(base, 3);
        int shared = SharedBase.share(base.toString(), first);
        assertEquals(shared, SharedBase.share(base.toString(), second));
        Map<String, Parameter> a = first.namedParameters();
        Map<String, Parameter> b = second.namedParameters();
        int frozen = 0;
        for (String name : a.keySet()) {
            if (a.get(name).requiresGrad()) {
                // LoRA weights, biases under bias="all", the classifier copy: each task's own
                assertNotSame(a.get(name).value(), b.get(name).value(), name);
            } else {
                assertSame(a.get(name).value(), b.get(name).value(), name);
                frozen++;
            }
        }
        assertEquals(frozen, shared);
        assertTrue(a.keySet().stream().anyMatch(n -> n.endsWith("query.base_layer.weight") && !a.get(n).requiresGrad()), "the base is frozen and shared");
    }

    @Test
    void onlyEqualWeightsAreSharedAndARewrittenBaseIsNotServedStale() throws Exception {
        Path base = TinyModels.bert(tmp.resolve("bert"));
        Module first = replica(base, 3);
        SharedBase.share(base.toString(), first);
        // A task whose frozen weight differs (another base behind the same name) keeps its own.
        String query = "bert.encoder.layer.0.attention.self.query.base_layer.weight";
        Module other = replica(base, 3);
        other.namedParameters().get(query).value().set(42f, 0, 0);
        SharedBase.share(base.toString(), other);
        assertNotSame(first.namedParameters().get(query).value(), other.namedParameters().get(query).value());
        assertEquals(42f, other.namedParameters().get(query).value().get(0, 0));

        Thread.sleep(1100);                                           // file times have a one-second grain on some systems
        TinyModels.bert(base);                                        // the same path written again
        Module after = replica(base, 3);
        SharedBase.share(base.toString(), after);
        assertTrue(after.namedParameters().containsKey(query), after.namedParameters().keySet().toString());
        assertNotSame(first.namedParameters().get(query).value(), after.namedParameters().get(query).value());
    }
}
