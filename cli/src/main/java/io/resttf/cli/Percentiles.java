package io.resttf.cli;

/** Percentiles of timings, as the bench verbs report them. */
final class Percentiles {
  private Percentiles() {}

  /** Nearest-rank percentile {@code p} (0..100) of sorted values. */
  static double of(double[] sorted, double p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }
}
