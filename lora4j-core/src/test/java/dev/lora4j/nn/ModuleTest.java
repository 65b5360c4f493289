package dev.lora4j.nn;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ModuleTest {
    /** A two-level tree shaped like GPT-2's attention block. */
    static final class Attn extends Module {
        Attn() {
            registerModule("c_attn", new Conv1D(8, 24));
            registerModule("c_proj", new Conv1D(8, 8));
            registerModule("attn_dropout", new Dropout(0.1f, 1));
        }
    }

    static final class Block extends Module {
        Block() {
            registerModule("ln_1", new LayerNorm(8, 1e-5f));
            registerModule("attn", new Attn());
        }
    }

    @Test
    void namesFollowHuggingFaceDottedPaths() {
        Block b = new Block();
        assertEquals(List.of("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                "attn.c_proj.weight", "attn.c_proj.bias"), List.copyOf(b.namedParameters().keySet()));
        assertEquals(List.of("", "ln_1", "attn", "attn.c_attn", "attn.c_proj", "attn.attn_dropout"),
                List.copyOf(b.namedModules().keySet()));
    }

    @Test
    void replaceChildKeepsPositionAndNames() {
        Block b = new Block();
        Module attn = b.namedModules().get("attn");
        Conv1D replacement = new Conv1D(8, 24);
        attn.replaceChild("c_attn", replacement);
        assertSame(replacement, b.namedModules().get("attn.c_attn"));
        assertEquals("attn.c_attn.weight", List.copyOf(b.namedParameters().keySet()).get(2));
        var e = assertThrows(IllegalArgumentException.class, () -> attn.replaceChild("q_proj", replacement));
        assertEquals("Attn has no child 'q_proj'; children are [c_attn, c_proj, attn_dropout]", e.getMessage());
    }

    @Test
    void trainEvalAndFreezingReachEveryDescendant() {
        Block b = new Block();
        b.eval();
        b.namedModules().values().forEach(m -> assertFalse(m.isTraining()));
        b.requiresGrad(false);
        assertEquals(0, b.trainableParameters().size());
    }

    @Test
    void printsLikeTorch() {
        assertEquals("""
                Attn(
                  (c_attn): Conv1D(nf=24, nx=8)
                  (c_proj): Conv1D(nf=8, nx=8)
                  (attn_dropout): Dropout(p=0.1, inplace=False)
                )""", new Attn().toString());
    }
}
