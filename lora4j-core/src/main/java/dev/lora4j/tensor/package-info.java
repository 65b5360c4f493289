/**
 * Tensors: {@link dev.lora4j.tensor.Tensor} (storage, offset, shape, strides; views without copies),
 * {@link dev.lora4j.tensor.Shape}, {@link dev.lora4j.tensor.DType} and {@link dev.lora4j.tensor.Storage}
 * (float32, or bf16/f16 for frozen weights), and {@link dev.lora4j.tensor.Ops}, the shape-checked entry points
 * into the kernels. No layers and no autograd live here.
 */
package dev.lora4j.tensor;
