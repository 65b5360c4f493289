package dev.lora4j.models;

/** Checks shared by the config.json records: each failure names the field, its value and what was expected. */
public final class ConfigFields {
    private ConfigFields() {
    }

    /** @throws IllegalArgumentException unless value > 0 */
    public static void positive(String field, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException("config.json: " + field + " is " + value + ", expected a positive number");
        }
    }

    /** @throws IllegalArgumentException unless width is a multiple of heads */
    public static void divisible(String widthField, int width, String headsField, int heads) {
        if (width % heads != 0) {
            throw new IllegalArgumentException("config.json: %s (%d) is not divisible by %s (%d)"
                    .formatted(widthField, width, headsField, heads));
        }
    }
}
