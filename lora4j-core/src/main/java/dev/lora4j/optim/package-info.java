/**
 * Optimizers and what drives them: AdamW and SGD with PyTorch's exact update rules, learning-rate schedules as
 * pure functions of the step, and gradient clipping by global norm.
 */
package dev.lora4j.optim;
