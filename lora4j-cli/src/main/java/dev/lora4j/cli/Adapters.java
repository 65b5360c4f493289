package dev.lora4j.cli;

import dev.lora4j.lora.PeftAdapter;
import dev.lora4j.lora.loralib.LoralibAdapter;
import dev.lora4j.nn.Module;

import java.io.IOException;
import java.nio.file.Path;

/** The adapters {@code --adapter} accepts: PEFT's directories, and loralib's (LoRA on some groups of a fused layer). */
final class Adapters {
    private Adapters() {
    }

    /** Applies the adapter in {@code dir} to {@code model}, whichever of the two formats it is in. */
    static void apply(Module model, Path dir) throws IOException {
        if (LoralibAdapter.isIn(dir)) {
            LoralibAdapter.load(model, dir);
        } else {
            PeftAdapter.load(model, dir);
        }
    }
}
