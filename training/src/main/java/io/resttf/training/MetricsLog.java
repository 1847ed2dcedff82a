package io.resttf.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.util.AtomicFiles;
import java.awt.Color;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * metrics.jsonl: one JSON object per line, {@code kind} "step", "eval" or "epoch", each with the
 * optimisation {@code step} it was taken at. Appended and flushed line by line; on resume, lines past
 * the checkpoint's step are dropped (rewritten atomically), so the file always describes one run.
 */
final class MetricsLog {
  /** One object per line: no indentation. */
  private static final com.fasterxml.jackson.databind.ObjectMapper LINE = new com.fasterxml.jackson.databind.ObjectMapper();

  private final Path file;

  MetricsLog(Path file) {
    this.file = file;
  }

  synchronized void append(ObjectNode line) {
    try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND)) {
      w.write(LINE.writeValueAsString(line));
      w.write('\n');
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot append (" + e.getMessage() + ")", e);
    }
  }

  /** Every line, parsed (unparseable ones, e.g. a line cut by a crash, skipped). */
  synchronized List<JsonNode> read() {
    List<JsonNode> out = new ArrayList<>();
    if (!Files.isRegularFile(file)) return out;
    try {
      for (String l : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (l.isBlank()) continue;
        try {
          out.add(TrainOptions.JSON.readTree(l));
        } catch (IOException e) {
          // a partial last line
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot read (" + e.getMessage() + ")", e);
    }
    return out;
  }

  /** Keeps the lines of steps up to {@code step} (what the checkpoint being resumed from had seen). */
  synchronized void truncateAfter(long step) {
    if (!Files.isRegularFile(file)) return;
    StringBuilder sb = new StringBuilder();
    for (JsonNode n : read()) {
      if (n.path("step").asLong() <= step) sb.append(n.toString()).append('\n');
    }
    try {
      AtomicFiles.writeString(file, sb.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot rewrite (" + e.getMessage() + ")", e);
    }
  }

  void drawCurves(Path png, String title) {
    List<double[]> loss = new ArrayList<>(), smooth = new ArrayList<>(), lr = new ArrayList<>();
    List<double[]> valLoss = new ArrayList<>(), trainAcc = new ArrayList<>(), valAcc = new ArrayList<>(), emaAcc = new ArrayList<>();
    List<JsonNode> lines = read();
    long steps = lines.stream().filter(n -> "step".equals(n.path("kind").asText())).count();
    int window = (int) Math.max(1, Math.min(100, steps / 25));
    java.util.ArrayDeque<Double> recent = new java.util.ArrayDeque<>();
    double recentSum = 0;
    for (JsonNode n : lines) {
      double step = n.path("step").asDouble();
      switch (n.path("kind").asText()) {
        case "step" -> {
          double l = n.path("loss").asDouble();
          loss.add(new double[] {step, l});
          recent.addLast(l);
          recentSum += l;
          if (recent.size() > window) recentSum -= recent.removeFirst();
          smooth.add(new double[] {step, recentSum / recent.size()});
          lr.add(new double[] {step, n.path("lr").asDouble()});
        }
        case "eval" -> {
          boolean ema = "ema".equals(n.path("weights").asText());
          (ema ? emaAcc : valAcc).add(new double[] {step, n.path("top1").asDouble()});
          if (!ema) valLoss.add(new double[] {step, n.path("loss").asDouble()});
        }
        case "epoch" -> trainAcc.add(new double[] {step, n.path("train_top1").asDouble()});
        default -> {}
      }
    }
    List<Curves.Series> lossSeries = List.of(
        new Curves.Series("train loss (step)", new Color(170, 200, 235), loss, false),
        new Curves.Series("train loss (running mean)", new Color(30, 90, 180), smooth, false),
        new Curves.Series("val loss", new Color(220, 90, 30), valLoss, true));
    List<Curves.Series> accSeries = new ArrayList<>(List.of(
        new Curves.Series("train top-1 (epoch)", new Color(30, 90, 180), trainAcc, true),
        new Curves.Series("val top-1", new Color(220, 90, 30), valAcc, true)));
    if (!emaAcc.isEmpty()) accSeries.add(new Curves.Series("val top-1 (EMA)", new Color(40, 160, 70), emaAcc, true));
    Curves.write(png, title, lossSeries, accSeries, List.of(new Curves.Series("learning rate", new Color(120, 60, 160), lr, false)));
  }
}
