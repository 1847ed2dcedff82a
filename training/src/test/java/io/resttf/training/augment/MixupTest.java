package io.resttf.training.augment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** timm's Mixup / CutMix (batch mode) against their definitions, statistically with fixed seeds. */
class MixupTest {
  static float[] batch(int n, int h, int w, int c, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] px = new float[n * h * w * c];
    for (int i = 0; i < px.length; i++) px[i] = (float) r.nextGaussian();
    return px;
  }

  @Test
  void mixupLambdaFollowsBeta08AndMixesWithTheFlippedBatch() {
    Mixup m = new Mixup(0.8, 0, 1.0, 0.5);
    int n = 4, h = 3, w = 5, c = 2, sample = h * w * c, draws = 40_000;
    double sum = 0, sq = 0;
    for (int d = 0; d < draws; d++) {
      float[] px = batch(n, h, w, c, d), before = px.clone();
      Mixup.Applied a = m.apply(px, n, h, w, c, new SplittableRandom(1000 + d));
      double l = a.lambda();
      assertTrue(!a.cutmix() && l > 0 && l < 1, "lambda " + l);
      sum += l;
      sq += l * l;
      if (d < 50) {
        for (int i = 0; i < n; i++) {
          for (int k = 0; k < sample; k++) {
            float want = before[i * sample + k] * (float) l + before[(n - 1 - i) * sample + k] * (float) (1 - l);
            assertEquals(want, px[i * sample + k], 0f, "x = lam x + (1 - lam) x.flip(0)");
          }
        }
      }
    }
    double mean = sum / draws, var = sq / draws - mean * mean;
    // Beta(0.8, 0.8): mean 1/2, variance a^2 / ((2a)^2 (2a + 1)) = 0.0962
    assertEquals(0.5, mean, 0.005);
    assertEquals(0.64 / (2.56 * 2.6), var, 0.002);
  }

  @Test
  void cutmixPastesABoxFromTheFlippedBatchAndLambdaIsItsComplement() {
    Mixup m = new Mixup(0, 1.0, 1.0, 0.5);
    int n = 3, h = 16, w = 12, c = 3, sample = h * w * c, draws = 20_000;
    double sumUncovered = 0;
    for (int d = 0; d < draws; d++) {
      float[] px = batch(n, h, w, c, d), before = px.clone();
      Mixup.Applied a = m.apply(px, n, h, w, c, new SplittableRandom(7 + d));
      assertTrue(a.cutmix());
      int boxArea = (a.bottom() - a.top()) * (a.right() - a.left());
      assertEquals(1 - (double) boxArea / (h * w), a.lambda(), 1e-12, "correct_lam: lambda = 1 - box area / image area");
      sumUncovered += a.lambda();
      if (d < 100) {
        for (int i = 0; i < n; i++) {
          for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
              boolean in = y >= a.top() && y < a.bottom() && x >= a.left() && x < a.right();
              int from = in ? n - 1 - i : i;
              for (int ch = 0; ch < c; ch++) {
                assertEquals(before[from * sample + (y * w + x) * c + ch], px[i * sample + (y * w + x) * c + ch], 0f);
              }
            }
          }
        }
      }
    }
    // lambda ~ U(0, 1) before the box is clipped to the image, so the pasted share is at most E[1 - lambda] = 1/2
    // and clipping (a centre near an edge) makes it smaller: E[corrected lambda] must lie in (1/2, 3/4)
    double mean = sumUncovered / draws;
    assertTrue(mean > 0.5 && mean < 0.75, "mean corrected lambda " + mean);
  }

  @Test
  void switchProbabilityAndMixProbability() {
    int cut = 0, mixed = 0, draws = 20_000;
    Mixup both = new Mixup(0.8, 1.0, 1.0, 0.5), half = new Mixup(0.8, 0, 0.5, 0.5);
    for (int d = 0; d < draws; d++) {
      if (both.apply(batch(2, 4, 4, 1, d), 2, 4, 4, 1, new SplittableRandom(d)).cutmix()) cut++;
      if (half.apply(batch(2, 4, 4, 1, d), 2, 4, 4, 1, new SplittableRandom(d)).lambda() != 1) mixed++;
    }
    assertEquals(0.5, cut / (double) draws, 0.015, "CutMix chosen with probability switch_prob");
    assertEquals(0.5, mixed / (double) draws, 0.015, "a batch mixed with probability mixup_prob");
    Mixup off = new Mixup(0.8, 1.0, 0.0, 0.5);
    float[] px = batch(2, 4, 4, 1, 1), before = px.clone();
    assertEquals(1.0, off.apply(px, 2, 4, 4, 1, new SplittableRandom(3)).lambda());
    assertEquals(java.util.Arrays.toString(before), java.util.Arrays.toString(px));
  }

  @Test
  void softTargetsAreMixedSmoothedOneHotsThatSumToOne() {
    int[] labels = {2, 0, 1, 2, 3};
    int k = 4;
    double eps = 0.1, lambda = 0.3;
    float[] t = Mixup.targets(labels, 5, k, eps, lambda);
    for (int i = 0; i < 5; i++) {
      double s = 0;
      for (int j = 0; j < k; j++) {
        double y1 = labels[i] == j ? 1 - eps + eps / k : eps / k, y2 = labels[4 - i] == j ? 1 - eps + eps / k : eps / k;
        assertEquals(lambda * y1 + (1 - lambda) * y2, t[i * k + j], 1e-7);
        s += t[i * k + j];
      }
      assertEquals(1.0, s, 1e-6);
    }
    // lambda 1 and no smoothing: plain one-hots
    float[] plain = Mixup.targets(labels, 5, k, 0, 1);
    assertEquals(1f, plain[0 * k + 2]);
    assertEquals(0f, plain[0 * k + 3]);
  }
}
