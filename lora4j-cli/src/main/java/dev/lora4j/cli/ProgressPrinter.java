package dev.lora4j.cli;

import dev.lora4j.train.TrainingLoop;
import dev.lora4j.train.TrainingLoop;

import java.io.PrintStream;

/**
 * Training progress for people: on a terminal one line redrawn in place (step, loss, learning rate, tokens/s,
 * ETA); otherwise, as in CI logs, one plain line per report.
 */
final class ProgressPrinter implements TrainingLoop.Listener {
    private final PrintStream out;
    private final boolean terminal = System.console() != null;
    private boolean pendingLine;

    ProgressPrinter(PrintStream out) {
        this.out = out;
    }

    @Override
    public void onStep(TrainingLoop.Step s) {
        String line = String.format("      step %d/%d  loss %.4f  lr %.2e  %,.0f tokens/s  ETA %s", s.step(), s.totalSteps(),
                s.loss(), s.lr(), s.tokensPerSecond(), eta(s.etaSeconds()));
        if (terminal) {
            out.print("\r" + line + "   ");
            pendingLine = true;
            if (s.step() == s.totalSteps()) {
                endLine();
            }
        } else {
            out.println(line);
        }
        out.flush();
    }

    @Override
    public void onEvaluation(long step, TrainingLoop.Evaluation e) {
        endLine();
        out.printf("      eval at step %d: accuracy %.2f%%  loss %.4f%n", step, 100 * e.accuracy(), e.loss());
    }

    private void endLine() {
        if (pendingLine) {
            out.println();
            pendingLine = false;
        }
    }

    private static String eta(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, s / 60 % 60) : String.format("%dm%02ds", s / 60, s % 60);
    }
}
