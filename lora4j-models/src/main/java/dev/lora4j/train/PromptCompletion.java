package dev.lora4j.train;

/**
 * One causal-LM example: the model reads {@code prompt} and learns to write {@code completion} (the loss
 * covers only the completion and the end-of-text token after it).
 *
 * @param prompt     the context, e.g. an E2E meaning representation; may be empty
 * @param completion the text to learn
 * @param line       1-based line in the source file, for messages
 */
public record PromptCompletion(String prompt, String completion, int line) implements java.io.Serializable {
}
