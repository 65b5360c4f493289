package dev.lora4j.lora;

import dev.lora4j.lora.loralib.LoralibAdapter;
import dev.lora4j.nn.Module;

import java.io.IOException;
import java.nio.file.Path;

/** The adapter directories lora4j reads: PEFT's directories, and loralib's (LoRA on some groups of a fused layer). */
public final class Adapters {
    private Adapters() {
    }

    /**
     * Applies the adapter in {@code dir} to {@code model}, whichever of the two formats it is in.
     *
     * @throws IOException naming the file and field or tensor when the adapter does not fit the model
     */
    public static void apply(Module model, Path dir) throws IOException {
        if (LoralibAdapter.isIn(dir)) {
            LoralibAdapter.load(model, dir);
        } else {
            PeftAdapter.load(model, dir);
        }
    }
}
