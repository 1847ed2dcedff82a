package io.resttf.cli;

import io.resttf.convert.CheckpointFiles;
import io.resttf.tensor.ReadProgress;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Function;

/**
 * A progress bar on stderr: {@code label [#####.....] 45% 120.0/266.7 MB 85.3 MB/s ETA 2s}. On a
 * terminal it redraws in place (at most 10 times a second); in logs it prints a line every few seconds
 * and a final one, so CI output stays short.
 */
public final class ProgressBar {
  private final String label;
  private final String unit;
  private final double unitScale;
  private final PrintStream err;
  private final boolean tty;
  private final long start = System.nanoTime();
  private long lastDraw;
  private boolean drawn;

  private ProgressBar(String label, String unit, double unitScale, PrintStream err) {
    this.label = label;
    this.unit = unit;
    this.unitScale = unitScale;
    this.err = err;
    this.tty = System.console() != null;
  }

  /** A bar counting bytes, shown in MB. */
  public static ProgressBar bytes(String label) {
    return new ProgressBar(label, "MB", 1e6, System.err);
  }

  /** A bar counting items (images, steps). */
  public static ProgressBar items(String label, String unit) {
    return new ProgressBar(label, unit, 1, System.err);
  }

  /**
   * Runs {@code read} (a checkpoint reader) with a byte-counting bar "reading FILE" on stderr, finished
   * when it returns.
   */
  public static <T> T reading(Path file, Function<ReadProgress, T> read) {
    ProgressBar bar = bytes("reading " + file.getFileName());
    long[] last = {0, 0};
    T result = read.apply((done, total) -> {
      last[0] = done;
      last[1] = total;
      bar.update(done, total);
    });
    bar.finish(last[0], last[1]);
    return result;
  }

  public synchronized void update(long done, long total) {
    long now = System.nanoTime();
    boolean finished = total > 0 && done >= total;
    long interval = tty ? 100_000_000L : 5_000_000_000L;
    if (!finished && now - lastDraw < interval) return;
    if (finished && !tty && !drawn && now - start < 2_000_000_000L) return; // quick work: no noise in logs
    lastDraw = now;
    drawn = true;
    err.print((tty ? "\r" : "") + line(done, total, now) + (tty && !finished ? "" : "\n"));
    err.flush();
  }

  /** Ends a bar that was drawn in place (a no-op otherwise). */
  public synchronized void finish(long done, long total) {
    if (drawn && tty) {
      err.print("\r" + line(done, total, System.nanoTime()) + "\n");
      err.flush();
      drawn = false;
    }
  }

  private String line(long done, long total, long now) {
    double secs = Math.max(1e-9, (now - start) / 1e9);
    double rate = done / secs / unitScale;
    double frac = total > 0 ? Math.min(1, (double) done / total) : 0;
    String eta = rate > 0 && total > 0 ? formatSeconds((total - done) / unitScale / rate) : "?";
    String amount = unitScale == 1
        ? String.format(Locale.ROOT, "%d/%d %s", done, total, unit)
        : String.format(Locale.ROOT, "%.1f/%.1f %s", done / unitScale, total / unitScale, unit);
    return String.format(Locale.ROOT, "%s %s %s %.1f %s/s ETA %s", label, gauge(frac, 30), amount, rate, unit, eta);
  }

  /** "[#####.....]  45%": the bar of {@code width} cells and the percentage of a fraction done. */
  static String gauge(double frac, int width) {
    int filled = (int) Math.round(Math.min(1, Math.max(0, frac)) * width);
    return String.format(Locale.ROOT, "[%s%s] %3.0f%%", "#".repeat(filled), ".".repeat(width - filled), frac * 100);
  }

  static String formatSeconds(double s) {
    if (s < 60) return String.format(Locale.ROOT, "%.0fs", s);
    if (s < 3600) return String.format(Locale.ROOT, "%dm%02ds", (long) s / 60, (long) s % 60);
    return String.format(Locale.ROOT, "%dh%02dm", (long) s / 3600, ((long) s % 3600) / 60);
  }
}
