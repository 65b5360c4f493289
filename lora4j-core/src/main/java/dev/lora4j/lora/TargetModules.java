package dev.lora4j.lora;

import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which modules an adapter wraps, with PEFT's three forms of {@code target_modules}: a list of names (a module
 * matches when its dotted name equals an entry or ends with "." + entry), a single string taken as a regular
 * expression that must match the whole name, or {@code all-linear}.
 */
public sealed interface TargetModules extends java.io.Serializable {
    /** PEFT's spelling of the all-linear form. */
    String ALL_LINEAR = "all-linear";

    /** True if the module called {@code name} is selected; {@link AllLinear} answers true for every name. */
    boolean matches(String name);

    /** The value as adapter_config.json stores it: a list of strings or one string. */
    Object toJsonValue();

    /** A list of names or suffixes. */
    record Names(List<String> names) implements TargetModules {
        /** @throws IllegalArgumentException if the list is empty or holds a blank entry */
        public Names {
            if (names.isEmpty() || names.stream().anyMatch(n -> n == null || n.isBlank())) {
                throw new IllegalArgumentException("target_modules: expected a non-empty list of module names, got " + names);
            }
            names = List.copyOf(names);
        }

        @Override
        public boolean matches(String name) {
            for (String n : names) {
                if (name.equals(n) || name.endsWith("." + n)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public Object toJsonValue() {
            return names;
        }

        @Override
        public String toString() {
            return names.toString();
        }
    }

    /** A regular expression matched against the whole dotted name. */
    record Regex(String regex, Pattern pattern) implements TargetModules {
        /** Compiles {@code regex}. @throws IllegalArgumentException if it is not a valid regular expression */
        public static Regex of(String regex) {
            try {
                return new Regex(regex, Pattern.compile(regex));
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("target_modules: '" + regex + "' is not a valid regular expression: "
                        + e.getDescription());
            }
        }

        @Override
        public boolean matches(String name) {
            return pattern.matcher(name).matches();
        }

        @Override
        public Object toJsonValue() {
            return regex;
        }

        @Override
        public String toString() {
            return regex;
        }
    }

    /** Every Linear or Conv1D layer except the model's output head. */
    record AllLinear() implements TargetModules {
        @Override
        public boolean matches(String name) {
            return true;
        }

        @Override
        public Object toJsonValue() {
            return ALL_LINEAR;
        }

        @Override
        public String toString() {
            return ALL_LINEAR;
        }
    }

    /** A Java name predicate, as seed 003's inject_lora filter; it cannot be written to adapter_config.json. */
    record Filter(java.util.function.Predicate<String> filter) implements TargetModules {
        @Override
        public boolean matches(String name) {
            return filter.test(name);
        }

        @Override
        public Object toJsonValue() {
            throw new IllegalStateException("target_modules given as a Java predicate cannot be written to adapter_config.json");
        }

        @Override
        public String toString() {
            return "<filter>";
        }
    }

    /** A list as given: one entry "all-linear" means {@link AllLinear}. */
    static TargetModules ofList(List<String> names) {
        return names.size() == 1 && names.get(0).equals(ALL_LINEAR) ? new AllLinear() : new Names(names);
    }

    /** A single string as given: "all-linear" or a regular expression. */
    static TargetModules ofString(String value) {
        return value.equals(ALL_LINEAR) ? new AllLinear() : Regex.of(value);
    }
}
