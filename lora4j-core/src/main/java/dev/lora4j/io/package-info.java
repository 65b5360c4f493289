/**
 * Files: safetensors reading (validated, with errors naming file and tensor) and writing (reference layout),
 * and atomic replacement of files so a crash never leaves a half-written checkpoint.
 */
package dev.lora4j.io;
