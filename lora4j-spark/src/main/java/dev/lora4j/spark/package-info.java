/**
 * lora4j on Apache Spark: data-parallel LoRA training in a barrier stage where only the adapter's gradients
 * travel between tasks, and batch inference over Spark datasets. {@code local[*]} is the embedded default.
 */
package dev.lora4j.spark;
