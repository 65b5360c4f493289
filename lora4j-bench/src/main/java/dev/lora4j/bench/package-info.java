/** JMH benchmarks, one class per kernel family; run them through scripts/bench-gemm. */
package dev.lora4j.bench;
