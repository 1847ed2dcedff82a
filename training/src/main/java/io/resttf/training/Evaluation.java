package io.resttf.training;

import java.util.List;
import java.util.Locale;

/**
 * Accumulates logits against labels: top-1 / top-5 accuracy, mean cross-entropy (no smoothing) and
 * the confusion matrix (rows: true class, columns: predicted).
 */
public final class Evaluation {
  private final int classes;
  private final long[][] confusion;
  private long count;
  private long top1;
  private long top5;
  private double lossSum;

  public Evaluation(int classes) {
    this.classes = classes;
    this.confusion = new long[classes][classes];
  }

  /** Adds a batch: {@code logits} [n, classes] row-major, {@code labels} [n]. */
  public void add(float[] logits, int[] labels, int n) {
    int k = Math.min(5, classes);
    for (int b = 0; b < n; b++) {
      int off = b * classes, y = labels[b];
      float target = logits[off + y];
      int better = 0, best = 0;
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < classes; c++) {
        float v = logits[off + c];
        // ties count against the true class only for classes before it (the lower index wins, as argmax)
        if (v > target || (v == target && c < y)) better++;
        if (v > max) {
          max = v;
          best = c;
        }
      }
      double sum = 0;
      for (int c = 0; c < classes; c++) sum += Math.exp(logits[off + c] - max);
      lossSum += Math.log(sum) + max - target;
      if (better == 0) top1++;
      if (better < k) top5++;
      confusion[y][best]++;
      count++;
    }
  }

  public long count() {
    return count;
  }

  public double top1() {
    return count == 0 ? Double.NaN : (double) top1 / count;
  }

  /** Top-5 accuracy (top-k with k = min(5, classes)). */
  public double top5() {
    return count == 0 ? Double.NaN : (double) top5 / count;
  }

  public double loss() {
    return count == 0 ? Double.NaN : lossSum / count;
  }

  public long[][] confusion() {
    long[][] out = new long[classes][];
    for (int i = 0; i < classes; i++) out[i] = confusion[i].clone();
    return out;
  }

  /**
   * The confusion matrix as text (rows: true class, columns: predicted), classes numbered and listed
   * with their names below; for at most {@code maxClasses} classes (null beyond).
   */
  public String confusionTable(List<String> names, int maxClasses) {
    if (classes > maxClasses) return null;
    long max = 1;
    for (long[] row : confusion) for (long v : row) max = Math.max(max, v);
    int w = Math.max(3, Long.toString(max).length() + 1);
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%-" + (w + 6) + "s", "true\\pred"));
    for (int c = 0; c < classes; c++) sb.append(String.format(Locale.ROOT, "%" + w + "d", c));
    sb.append('\n');
    for (int r = 0; r < classes; r++) {
      sb.append(String.format(Locale.ROOT, "%" + (w + 6) + "s", r + " "));
      for (int c = 0; c < classes; c++) sb.append(String.format(Locale.ROOT, "%" + w + "d", confusion[r][c]));
      sb.append('\n');
    }
    for (int c = 0; c < classes; c++) {
      sb.append(String.format(Locale.ROOT, "  %d = %s%n", c, c < names.size() ? names.get(c) : "class_" + c));
    }
    return sb.toString();
  }
}
