package dev.lora4j.cli;

import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * Runs the lora4j command line in-process, as the launcher would (recipes expanded), capturing what it prints.
 *
 * @param status exit status
 * @param out    standard output
 * @param err    the command line's error stream
 */
public record CliRun(int status, String out, String err) {
    /** Runs {@code args}. */
    public static CliRun run(String... args) {
        CommandLine cmd = Lora4j.commandLine();
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err));
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        try {
            return new CliRun(Lora4j.run(cmd, args), buf.toString(), err.toString());
        } finally {
            System.setOut(saved);
        }
    }
}
