package dev.lora4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.UncheckedIOException;

/** The {@code lora4j} command: LoRA fine-tuning for the JVM. */
@Command(name = "lora4j", mixinStandardHelpOptions = true, version = "lora4j 0.1.0-SNAPSHOT",
        description = "LoRA fine-tuning for the JVM, in pure Java.",
        subcommands = {DemoCommand.class, TrainCommand.class, EvalCommand.class, InspectCommand.class, MergeCommand.class,
                GenerateCommand.class, ScoreCommand.class, BenchCommand.class,
                SelfCheckCommand.class,
                CommandLine.HelpCommand.class})
public final class Lora4j implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Runs the command line and exits with its status. */
    public static void main(String[] args) {
        int status;
        try {
            status = run(commandLine(), args);
        } catch (OutOfMemoryError e) {
            System.err.println("lora4j: out of memory with a Java heap of at most " + (Runtime.getRuntime().maxMemory() >> 20)
                    + " MB: give it more with LORA4J_JAVA_OPTS=-Xmx<size> (the launcher's default is 75% of the RAM), "
                    + "or need less: a smaller --batch-size or --max-length, or --base-dtype bf16 for a LoRA base");
            status = 1;
        }
        System.exit(status);
    }

    /** Executes {@code args} (with a --config recipe spelled out as flags) on {@code cmd}; returns the exit status. */
    public static int run(CommandLine cmd, String... args) {
        String[] expanded;
        try {
            expanded = Recipes.expand(args);
        } catch (IllegalArgumentException e) {
            cmd.getErr().println("lora4j: " + e.getMessage());
            return 1;
        }
        return cmd.execute(expanded);
    }

    /**
     * The configured command line: a user mistake (bad argument, unreadable file) prints one line naming it and
     * exits with status 1; anything else is a bug and keeps its stack trace.
     */
    public static CommandLine commandLine() {
        return withUserErrors(new CommandLine(new Lora4j()).setOverwrittenOptionsAllowed(true), "lora4j");
    }

    /**
     * Makes a user mistake (bad argument, unreadable file) print one line, "{@code prefix} command: message",
     * and exit with status 1; anything else is a bug and keeps its stack trace.
     */
    public static CommandLine withUserErrors(CommandLine cli, String prefix) {
        return cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof IllegalArgumentException || ex instanceof IOException || ex instanceof UncheckedIOException) {
                cmd.getErr().println(prefix + " " + cmd.getCommandName() + ": " + ex.getMessage());
                return 1;
            }
            throw ex;
        });
    }
}
