/** Text-generation metrics for the NLG recipes: corpus BLEU with several references, ROUGE-L. */
package dev.lora4j.metrics;
