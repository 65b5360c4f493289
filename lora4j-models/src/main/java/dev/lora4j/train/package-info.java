/**
 * Training loops users run: data readers that report bad rows by file and line, the sequence-classification
 * trainer (length-grouped batches, AdamW with warmup and decay, clipping, gradient accumulation, periodic
 * evaluation) and its progress reporting.
 */
package dev.lora4j.train;
