package dev.lora4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.io.AtomicFiles;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Draws the training and validation loss from metrics.jsonl into a PNG, with plain Java2D (headless). */
final class LossCurve {
    private static final int W = 800;
    private static final int H = 480;
    private static final int M = 60;

    private LossCurve() {
    }

    /** Reads {@code metrics} and writes the plot to {@code png} atomically; returns the number of points drawn. */
    static int write(Path metrics, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<double[]> train = new ArrayList<>();
        List<double[]> valid = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(metrics)) {
            JsonNode n = json.readTree(line);
            if (n.has("loss")) {
                train.add(new double[]{n.get("step").asDouble(), n.get("loss").asDouble()});
            } else if (n.has("eval_loss")) {
                valid.add(new double[]{n.get("step").asDouble(), n.get("eval_loss").asDouble()});
            }
        }
        double maxStep = 1, minLoss = Double.POSITIVE_INFINITY, maxLoss = Double.NEGATIVE_INFINITY;
        for (List<double[]> series : List.of(train, valid)) {
            for (double[] p : series) {
                maxStep = Math.max(maxStep, p[0]);
                minLoss = Math.min(minLoss, p[1]);
                maxLoss = Math.max(maxLoss, p[1]);
            }
        }
        if (minLoss == Double.POSITIVE_INFINITY) {
            minLoss = 0;
            maxLoss = 1;
        }
        double pad = Math.max(1e-6, (maxLoss - minLoss) * 0.05);
        minLoss -= pad;
        maxLoss += pad;
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.setColor(Color.GRAY);
        g.drawRect(M, M / 2, W - M - M / 2, H - M - M / 2);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.setColor(Color.BLACK);
        g.drawString("step", W / 2, H - 15);
        g.drawString(String.format("%.3f", maxLoss), 5, M / 2 + 10);
        g.drawString(String.format("%.3f", minLoss), 5, H - M);
        g.drawString(String.format("%.0f", maxStep), W - M, H - M + 20);
        draw(g, train, new Color(31, 119, 180), maxStep, minLoss, maxLoss);
        draw(g, valid, new Color(255, 127, 14), maxStep, minLoss, maxLoss);
        g.setColor(new Color(31, 119, 180));
        g.drawString("train loss", W - 200, M / 2 + 20);
        g.setColor(new Color(255, 127, 14));
        g.drawString("validation loss", W - 200, M / 2 + 36);
        g.dispose();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(img, "png", bytes);
        AtomicFiles.write(png, bytes.toByteArray());
        return train.size() + valid.size();
    }

    private static void draw(Graphics2D g, List<double[]> series, Color color, double maxStep, double lo, double hi) {
        g.setColor(color);
        g.setStroke(new BasicStroke(2f));
        int px = -1, py = -1;
        for (double[] p : series) {
            int x = M + (int) Math.round(p[0] / maxStep * (W - M - M / 2));
            int y = M / 2 + (int) Math.round((hi - p[1]) / (hi - lo) * (H - M - M / 2));
            if (px >= 0) {
                g.drawLine(px, py, x, y);
            }
            g.fillOval(x - 2, y - 2, 5, 5);
            px = x;
            py = y;
        }
    }
}
