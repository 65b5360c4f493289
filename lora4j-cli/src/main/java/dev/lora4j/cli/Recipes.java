package dev.lora4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Recipe files, as mlx-examples and torchtune use them: {@code lora4j train --config recipe.yaml [flags]} reads a
 * YAML or JSON mapping whose keys are the command's flag names without dashes ({@code lr: 2e-4},
 * {@code targets: [query, value]}, {@code use-dora: true}); flags given on the command line win.
 */
final class Recipes {
    private Recipes() {
    }

    /**
     * The command line with the recipe named by {@code --config FILE} spelled out as flags right after the
     * subcommand (so that later, explicit flags override them); unchanged when there is no --config.
     *
     * @throws IllegalArgumentException naming the file for a missing file, bad YAML/JSON, or a value that is not a
     *                                  scalar or a list of scalars
     */
    static String[] expand(String[] args) {
        int at = List.of(args).indexOf("--config");
        if (at < 0) {
            return args;
        }
        if (at + 1 >= args.length) {
            throw new IllegalArgumentException("--config: expected a recipe file (YAML or JSON)");
        }
        Path file = Path.of(args[at + 1]);
        JsonNode root;
        try {
            String name = file.getFileName().toString();
            ObjectMapper mapper = name.endsWith(".json") ? new ObjectMapper() : new YAMLMapper();
            root = mapper.readTree(Files.readString(file));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new IllegalArgumentException("--config: " + file + " not found");
        } catch (IOException e) {
            throw new IllegalArgumentException("--config: " + file + " is not valid YAML or JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("--config: " + file + " must be a mapping of flag names to values");
        }
        List<String> recipe = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String flag = "--" + e.getKey().replace('_', '-');
            JsonNode v = e.getValue();
            if (v.isBoolean()) {
                if (v.asBoolean()) {
                    recipe.add(flag);
                }
            } else if (v.isArray()) {
                List<String> items = new ArrayList<>();
                v.forEach(item -> items.add(scalar(file, e.getKey(), item)));
                recipe.add(flag);
                recipe.add(String.join(",", items));
            } else {
                recipe.add(flag);
                recipe.add(scalar(file, e.getKey(), v));
            }
        }
        List<String> out = new ArrayList<>();
        int command = 0;
        while (command < args.length && args[command].startsWith("-")) {
            command++;
        }
        for (int i = 0; i < args.length; i++) {
            if (i == at || i == at + 1) {
                continue;
            }
            out.add(args[i]);
            if (i == command) {
                out.addAll(recipe);
            }
        }
        return out.toArray(String[]::new);
    }

    private static String scalar(Path file, String key, JsonNode v) {
        if (!v.isValueNode() || v.isNull()) {
            throw new IllegalArgumentException("--config: " + file + ": '" + key + "' must be a value or a list of values");
        }
        return v.asText();
    }
}
