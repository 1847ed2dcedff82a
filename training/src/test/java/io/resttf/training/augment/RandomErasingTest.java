package io.resttf.training.augment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** timm's RandomErasing (p 0.25, pixel mode, one box) against its definition, statistically with fixed seeds. */
class RandomErasingTest {
  @Test
  void erasesAQuarterOfTheImagesWithBoxesOfTheDefinedAreaAndAspectFilledWithUnitNoise() {
    RandomErasing e = new RandomErasing(0.25);
    int h = 64, w = 48, c = 3, draws = 20_000, erased = 0;
    double noiseSum = 0, noiseSq = 0, logAspectSum = 0;
    long noiseCount = 0;
    for (int d = 0; d < draws; d++) {
      float[] px = new float[5 + h * w * c];
      java.util.Arrays.fill(px, 7f);
      RandomErasing.Erased r = e.apply(px, 5, h, w, c, new SplittableRandom(d));
      if (r == null) {
        for (float v : px) assertEquals(7f, v);
        continue;
      }
      erased++;
      assertTrue(r.top() >= 0 && r.left() >= 0 && r.top() + r.height() <= h && r.left() + r.width() <= w, r.toString());
      assertTrue(r.height() < h && r.width() < w, r.toString());
      double area = (double) r.height() * r.width() / (h * w);
      // sides are rounded: allow one pixel either way around the [0.02, 1/3] band
      double slack = (double) (r.height() + r.width() + 1) / (h * w);
      assertTrue(area >= RandomErasing.MIN_AREA - slack && area <= RandomErasing.MAX_AREA + slack, "area " + area + " " + r);
      double aspect = (double) r.height() / r.width();
      assertTrue(aspect >= 0.3 * (1 - 1.0 / r.width()) - 0.05 && aspect <= (1 / 0.3) * (1 + 1.0 / r.width()) + 0.05, "aspect " + aspect);
      logAspectSum += Math.log(aspect);
      assertEquals(7f, px[4]);
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          boolean in = y >= r.top() && y < r.top() + r.height() && x >= r.left() && x < r.left() + r.width();
          for (int ch = 0; ch < c; ch++) {
            float v = px[5 + (y * w + x) * c + ch];
            if (!in) {
              assertEquals(7f, v);
            } else {
              noiseSum += v;
              noiseSq += v * v;
              noiseCount++;
            }
          }
        }
      }
    }
    assertEquals(0.25, erased / (double) draws, 0.01, "erasing probability");
    double mean = noiseSum / noiseCount, var = noiseSq / noiseCount - mean * mean;
    assertEquals(0, mean, 0.01, "pixel mode: N(0, 1) noise");
    assertEquals(1, var, 0.01);
    assertEquals(0, logAspectSum / erased, 0.05, "aspect ratio log-uniform over [0.3, 1/0.3]: symmetric in log");
  }

  @Test
  void offErasesNothing() {
    float[] px = new float[16 * 16];
    assertEquals(null, new RandomErasing(0).apply(px, 0, 16, 16, 1, new SplittableRandom(1)));
  }
}
