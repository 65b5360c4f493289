/**
 * The {@code lora4j} command line: one picocli class per subcommand. User mistakes print one line and exit
 * non-zero; see {@link dev.lora4j.cli.Lora4j#commandLine()}.
 */
package dev.lora4j.cli;
