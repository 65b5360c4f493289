/**
 * Tokenizers that read Hugging Face tokenizer files: GPT-2's byte-level BPE and BERT's WordPiece.
 */
package dev.lora4j.tokenizer;
