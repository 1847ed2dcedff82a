package io.resttf.training.augment;

import java.util.SplittableRandom;

/**
 * timm's {@code Mixup} in its {@code batch} mode (the DeiT recipe the official ResT {@code main.py} uses:
 * {@code --mixup 0.8 --cutmix 1.0 --mixup-prob 1.0 --mixup-switch-prob 0.5}), on an NHWC batch on the host.
 *
 * <p>Per batch: with probability {@code prob} the batch is mixed; when both alphas are positive, CutMix is
 * chosen with probability {@code switchProb}, else Mixup. λ ~ Beta(α, α) of the chosen one. Mixup:
 * {@code x = λ·x + (1−λ)·x.flip(0)}. CutMix: a box of side ratio √(1−λ), centred uniformly in the image and
 * clipped to it, is pasted from the flipped batch, and λ is corrected to the uncovered area
 * ({@code correct_lam}). Targets: {@code λ·y + (1−λ)·y.flip(0)} of label-smoothed one-hots
 * ({@code mixup_target}). Sample {@code i} is mixed with sample {@code n−1−i}, as {@code x.flip(0)} pairs them.
 */
public final class Mixup {
  private final double mixupAlpha;
  private final double cutmixAlpha;
  private final double prob;
  private final double switchProb;

  /** What was done to a batch: {@code lambda} 1 means unmixed; the box is the pasted region (CutMix only). */
  public record Applied(double lambda, boolean cutmix, int top, int bottom, int left, int right) {}

  public Mixup(double mixupAlpha, double cutmixAlpha, double prob, double switchProb) {
    this.mixupAlpha = mixupAlpha;
    this.cutmixAlpha = cutmixAlpha;
    this.prob = prob;
    this.switchProb = switchProb;
  }

  /** Whether any mixing can happen. */
  public boolean enabled() {
    return prob > 0 && (mixupAlpha > 0 || cutmixAlpha > 0);
  }

  /**
   * Mixes {@code n} images of {@code h × w × c} floats in {@code px} (NHWC) in place, with the batch's own
   * random draws from {@code rng}; returns what was drawn.
   */
  public Applied apply(float[] px, int n, int h, int w, int c, SplittableRandom rng) {
    double lambda = 1;
    boolean cutmix = false;
    if (enabled() && rng.nextDouble() < prob) {
      if (mixupAlpha > 0 && cutmixAlpha > 0) {
        cutmix = rng.nextDouble() < switchProb;
        lambda = beta(cutmix ? cutmixAlpha : mixupAlpha, rng);
      } else if (mixupAlpha > 0) {
        lambda = beta(mixupAlpha, rng);
      } else {
        cutmix = true;
        lambda = beta(cutmixAlpha, rng);
      }
    }
    if (lambda == 1) return new Applied(1, false, 0, 0, 0, 0);
    int sample = h * w * c;
    if (!cutmix) {
      float[] mixed = new float[px.length];
      float l = (float) lambda, r = (float) (1 - lambda);
      for (int i = 0; i < n; i++) {
        int a = i * sample, b = (n - 1 - i) * sample;
        for (int k = 0; k < sample; k++) mixed[a + k] = px[a + k] * l + px[b + k] * r;
      }
      System.arraycopy(mixed, 0, px, 0, n * sample);
      return new Applied(lambda, false, 0, 0, 0, 0);
    }
    // rand_bbox: cut sides int(H·√(1−λ)), centre uniform in [0, H) × [0, W), clipped to the image
    double ratio = Math.sqrt(1 - lambda);
    int cutH = (int) (h * ratio), cutW = (int) (w * ratio);
    int cy = rng.nextInt(h), cx = rng.nextInt(w);
    int top = clip(cy - cutH / 2, h), bottom = clip(cy + cutH / 2, h);
    int left = clip(cx - cutW / 2, w), right = clip(cx + cutW / 2, w);
    float[] flipped = new float[n * sample];
    for (int i = 0; i < n; i++) System.arraycopy(px, (n - 1 - i) * sample, flipped, i * sample, sample);
    for (int i = 0; i < n; i++) {
      for (int y = top; y < bottom; y++) {
        int row = i * sample + (y * w + left) * c;
        System.arraycopy(flipped, row, px, row, (right - left) * c);
      }
    }
    double corrected = 1 - (double) (bottom - top) * (right - left) / ((double) h * w);
    return new Applied(corrected, true, top, bottom, left, right);
  }

  /**
   * {@code mixup_target}: for each of {@code n} labels, λ times its label-smoothed one-hot (1 − ε + ε/K on the
   * class, ε/K elsewhere) plus (1 − λ) times that of sample {@code n−1−i}.
   */
  public static float[] targets(int[] labels, int n, int k, double smoothing, double lambda) {
    double off = smoothing / k, on = 1 - smoothing + off;
    float[] t = new float[n * k];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < k; j++) {
        double y1 = labels[i] == j ? on : off, y2 = labels[n - 1 - i] == j ? on : off;
        t[i * k + j] = (float) (y1 * lambda + y2 * (1 - lambda));
      }
    }
    return t;
  }

  private static int clip(int v, int hi) {
    return Math.max(0, Math.min(hi, v));
  }

  /** A Beta(α, α) draw: X / (X + Y) of two Gamma(α) draws. */
  static double beta(double alpha, SplittableRandom rng) {
    double x = gamma(alpha, rng), y = gamma(alpha, rng);
    return x / (x + y);
  }

  /** Gamma(shape, 1) (Marsaglia and Tsang; shape < 1 through Gamma(shape + 1)·U^(1/shape)). */
  static double gamma(double shape, SplittableRandom rng) {
    if (shape < 1) {
      double u = rng.nextDouble();
      return gamma(shape + 1, rng) * Math.pow(u == 0 ? Double.MIN_VALUE : u, 1 / shape);
    }
    double d = shape - 1.0 / 3, c = 1 / Math.sqrt(9 * d);
    while (true) {
      double x, v;
      do {
        x = normal(rng);
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      double u = rng.nextDouble();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  static double normal(SplittableRandom rng) {
    double u = 1.0 - rng.nextDouble(), v = rng.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
