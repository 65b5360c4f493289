package dev.lora4j.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Lora4jTest {
    private record Run(int status, String out, String err) {
    }

    private static Run run(String... args) {
        CommandLine cmd = Lora4j.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cmd.setOut(new PrintWriter(out));
        cmd.setErr(new PrintWriter(err));
        int status = cmd.execute(args);
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void noArgumentsPrintsHelpWithTheDemo() {
        Run r = run("--help");
        assertEquals(0, r.status());
        assertTrue(r.out().contains("demo"), r.out());
    }

    @Test
    void badFlagValueIsOneLineAndNonZero() {
        Run r = run("selfcheck", "--steps", "0");
        assertEquals(1, r.status());
        assertEquals("lora4j selfcheck: --steps must be positive, got 0", r.err().strip());
    }

    @Test
    void unknownOptionIsAUsageError() {
        Run r = run("selfcheck", "--stepz", "3");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("Unknown options: '--stepz', '3'"), r.err());
    }

    @Test
    void selfCheckPasses() {
        assertEquals(0, run("selfcheck", "--steps", "300").status());
    }
}
