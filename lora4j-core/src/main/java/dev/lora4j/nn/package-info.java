/**
 * Layers with explicit forward and backward passes, in a module tree named as Hugging Face names it:
 * {@link dev.lora4j.nn.Module}, {@link dev.lora4j.nn.Parameter}, Linear, Conv1D, Embedding, LayerNorm, Dropout,
 * GELU, multi-head attention, Sequential, and the cross-entropy loss. Model families live in lora4j-models.
 */
package dev.lora4j.nn;
