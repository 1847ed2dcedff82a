package io.resttf.training.augment;

import java.util.SplittableRandom;

/**
 * timm's {@code RandomErasing} as the official recipe sets it ({@code --reprob 0.25 --remode pixel --recount 1}):
 * with probability {@code p}, one rectangle of a normalised image is replaced by per-pixel, per-channel
 * N(0, 1) noise. Up to 10 attempts: area uniform in [0.02, 1/3] of the image, aspect ratio log-uniform in
 * [0.3, 1/0.3], sides {@code round(√(area·ratio))} × {@code round(√(area/ratio))}; a rectangle that does not
 * fit strictly inside the image is drawn again, and after 10 misses nothing is erased.
 */
public final class RandomErasing {
  public static final double MIN_AREA = 0.02, MAX_AREA = 1.0 / 3, MIN_ASPECT = 0.3;
  static final int ATTEMPTS = 10;

  private final double probability;

  /** The erased rectangle (rows top..top+height, columns left..left+width), or null. */
  public record Erased(int top, int left, int height, int width) {}

  public RandomErasing(double probability) {
    this.probability = probability;
  }

  public boolean enabled() {
    return probability > 0;
  }

  /** Erases (maybe) one rectangle of the {@code h × w × c} NHWC image at {@code offset} of {@code px}. */
  public Erased apply(float[] px, int offset, int h, int w, int c, SplittableRandom rng) {
    if (!(rng.nextDouble() < probability)) return null;
    double area = (double) h * w;
    double logLo = Math.log(MIN_ASPECT), logHi = Math.log(1 / MIN_ASPECT);
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      double target = (MIN_AREA + (MAX_AREA - MIN_AREA) * rng.nextDouble()) * area;
      double aspect = Math.exp(logLo + (logHi - logLo) * rng.nextDouble());
      int eh = (int) Math.round(Math.sqrt(target * aspect));
      int ew = (int) Math.round(Math.sqrt(target / aspect));
      if (ew < w && eh < h) {
        int top = rng.nextInt(h - eh + 1), left = rng.nextInt(w - ew + 1);
        for (int y = top; y < top + eh; y++) {
          for (int x = left; x < left + ew; x++) {
            int at = offset + (y * w + x) * c;
            for (int ch = 0; ch < c; ch++) px[at + ch] = (float) Mixup.normal(rng);
          }
        }
        return new Erased(top, left, eh, ew);
      }
    }
    return null;
  }
}
