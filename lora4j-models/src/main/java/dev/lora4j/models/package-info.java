/**
 * Model families with Hugging Face names and layouts, each with explicit forward and backward passes
 * ({@code gpt2}, {@code bert}), and {@link dev.lora4j.models.HfModelDir} for loading model directories.
 */
package dev.lora4j.models;
