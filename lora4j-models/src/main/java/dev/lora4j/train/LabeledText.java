package dev.lora4j.train;

/**
 * One example for sequence classification.
 *
 * @param text  the sentence
 * @param label class index in [0, numLabels)
 * @param line  1-based line in the source file, for messages
 */
public record LabeledText(String text, int label, int line) implements java.io.Serializable {
}
