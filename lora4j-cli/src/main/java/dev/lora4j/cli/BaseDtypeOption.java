package dev.lora4j.cli;

import dev.lora4j.tensor.DType;
import picocli.CommandLine.Option;

import java.util.Locale;

/** {@code --base-dtype f32|bf16|f16}: how the frozen base weights are stored (train, eval, generate). */
final class BaseDtypeOption {
    @Option(names = "--base-dtype", defaultValue = "f32", paramLabel = "DTYPE",
            description = "Store the frozen base weights as f32, bf16 or f16: 16 bits halve their memory, kernels widen them as they read (default: ${DEFAULT-VALUE}).")
    String value;

    /** The dtype asked for. @throws IllegalArgumentException naming the flag for anything else */
    DType dtype() {
        return parse("--base-dtype", value);
    }

    /** f32, bf16 or f16 (also float32, bfloat16, float16) as a DType. @throws IllegalArgumentException naming flag */
    static DType parse(String flag, String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "f32", "float32" -> DType.F32;
            case "bf16", "bfloat16" -> DType.BF16;
            case "f16", "float16" -> DType.F16;
            default -> throw new IllegalArgumentException(flag + ": expected f32, bf16 or f16, got '" + value + "'");
        };
    }
}
