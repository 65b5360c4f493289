/**
 * Text generation with a causal language model and its key/value cache: greedy decoding and beam search with
 * Hugging Face's length penalty, no-repeat n-gram and repetition penalty.
 */
package dev.lora4j.generate;
