package dev.lora4j.cli;

import dev.lora4j.lora.LoraConfig;

import java.util.Arrays;
import java.util.List;

/**
 * The compact LoRA setting of the CLI: {@code r=8,alpha=16,dropout=0.1,targets=query|value,bias=none,dora=true,
 * edora=true,modules_to_save=classifier,rslora=true,init=gaussian}. Lists inside a value are separated by '|';
 * a target list of one entry starting with "re:" is a regular expression.
 */
final class LoraSpec {
    private LoraSpec() {
    }

    /** Parses {@code spec}. @throws IllegalArgumentException naming the flag and key for anything wrong */
    static LoraConfig parse(String flag, String spec) {
        LoraConfig.Builder b = LoraConfig.builder();
        boolean edora = false;
        for (String part : spec.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(flag + ": expected key=value, got '" + part + "'");
            }
            String key = part.substring(0, eq).strip();
            String value = part.substring(eq + 1).strip();
            try {
                switch (key) {
                    case "r" -> b.r(Integer.parseInt(value));
                    case "alpha", "lora_alpha" -> b.loraAlpha(Double.parseDouble(value));
                    case "dropout", "lora_dropout" -> b.loraDropout(Double.parseDouble(value));
                    case "targets", "target_modules" -> {
                        if (value.startsWith("re:")) {
                            b.targetRegex(value.substring(3));
                        } else {
                            b.targetModules(value.split("\\|"));
                        }
                    }
                    case "exclude", "exclude_modules" -> b.excludeModules(dev.lora4j.lora.TargetModules.ofList(List.of(value.split("\\|"))));
                    case "bias" -> b.bias(LoraConfig.Bias.parse(value));
                    case "modules_to_save" -> b.modulesToSave(Arrays.asList(value.split("\\|")));
                    case "init", "init_lora_weights" -> b.initLoraWeights(LoraConfig.InitLoraWeights.parse(value));
                    case "rslora", "use_rslora" -> b.useRslora(bool(value));
                    case "dora", "use_dora" -> b.useDora(bool(value));
                    case "edora", "use_edora" -> edora = bool(value);
                    case "fan_in_fan_out" -> b.fanInFanOut(bool(value));
                    default -> throw new IllegalArgumentException("unknown key '" + key + "'; known: r, alpha, dropout, targets, "
                            + "exclude, bias, modules_to_save, init, rslora, dora, edora, fan_in_fan_out");
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(flag + ": " + key + "=" + value + " is not a number");
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(flag + ": " + e.getMessage());
            }
        }
        if (edora) {
            b.edora(LoraConfig.EdoraConfig.DEFAULT);
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(flag + ": " + e.getMessage());
        }
    }

    private static boolean bool(String v) {
        return switch (v.toLowerCase()) {
            case "true", "1", "yes" -> true;
            case "false", "0", "no" -> false;
            default -> throw new IllegalArgumentException("expected true or false, got '" + v + "'");
        };
    }
}
