/**
 * Numerical kernels as static methods over float arrays with offsets: GEMM, layer norm, GELU, softmax,
 * attention, cross-entropy, embedding, and the one thread pool ({@link dev.lora4j.kernels.Parallel}). The
 * Vector API is used only here; each vector kernel has a scalar twin or closed form the tests compare against.
 * Backward kernels add into parameter gradients.
 */
package dev.lora4j.kernels;
