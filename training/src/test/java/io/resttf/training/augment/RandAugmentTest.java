package io.resttf.training.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import io.resttf.training.data.Image;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * RandAugment against timm's definitions (timm/data/auto_augment.py): the op list and order of the official
 * string, the level functions' ranges, the draws (ops with replacement, p, magnitude noise), and the pixel ops.
 */
class RandAugmentTest {
  static final int[] FILL = {73};

  @Test
  void officialStringIsTimmsIncreasingListTwoOpsHalfProbabilityMagnitudeNine() {
    RandAugment ra = RandAugment.parse(RandAugment.OFFICIAL, FILL);
    assertEquals(List.of("AutoContrast", "Equalize", "Invert", "Rotate", "PosterizeIncreasing", "SolarizeIncreasing", "SolarizeAdd",
        "ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing", "SharpnessIncreasing", "ShearX", "ShearY", "TranslateXRel",
        "TranslateYRel"), ra.ops(), "timm's _RAND_INCREASING_TRANSFORMS");
    assertEquals(2, ra.numLayers());
    assertEquals(9, ra.magnitude());
    assertEquals(0.5, ra.magnitudeStd());
    assertEquals(10, ra.magnitudeMax());
    assertEquals(0.5, ra.prob());
    assertEquals(15, RandAugment.parse("rand-m7", FILL).ops().size());
    assertTrue(RandAugment.parse("rand-m7", FILL).ops().contains("Posterize"), "without inc1: timm's _RAND_TRANSFORMS");
    assertEquals(3, RandAugment.parse("rand-n3-m5-mstd101", FILL).numLayers());
    assertEquals(Double.POSITIVE_INFINITY, RandAugment.parse("rand-n3-m5-mstd101", FILL).magnitudeStd(), "mstd > 100: uniform");
  }

  @Test
  void badStringsAreOneClearLine() {
    assertEquals("--aa auto-m9: a RandAugment string starts with 'rand-' (e.g. rand-m9-mstd0.5-inc1)",
        assertThrows(BadInputException.class, () -> RandAugment.parse("auto-m9", FILL)).getMessage());
    assertTrue(assertThrows(BadInputException.class, () -> RandAugment.parse("rand-q9", FILL)).getMessage().contains("unknown section 'q'"));
    assertTrue(assertThrows(BadInputException.class, () -> RandAugment.parse("rand-m", FILL)).getMessage().contains("section 'm'"));
    assertTrue(assertThrows(BadInputException.class, () -> RandAugment.parse("rand-p1.5", FILL)).getMessage().contains("[0, 1]"));
  }

  /** timm's level functions at magnitude 9 and at the clip bound 10; signed ones draw their sign with probability ½. */
  @Test
  void levelFunctionsMapMagnitudesAsTimm() {
    SplittableRandom r = new SplittableRandom(1);
    assertEquals(27.0, Math.abs(RandAugment.argument("Rotate", 9, r)), 1e-12);
    assertEquals(30.0, Math.abs(RandAugment.argument("Rotate", 10, r)), 1e-12);
    assertEquals(0.27, Math.abs(RandAugment.argument("ShearX", 9, r)), 1e-12);
    assertEquals(0.405, Math.abs(RandAugment.argument("TranslateYRel", 9, r)), 1e-12);
    assertEquals(1.0, RandAugment.argument("PosterizeIncreasing", 9, r), "4 - int(9/10 * 4)");
    assertEquals(4.0, RandAugment.argument("PosterizeIncreasing", 0, r));
    assertEquals(26.0, RandAugment.argument("SolarizeIncreasing", 9, r), "256 - int(9/10 * 256)");
    assertEquals(99.0, RandAugment.argument("SolarizeAdd", 9, r), "int(9/10 * 110)");
    assertEquals(1.72, RandAugment.argument("Color", 9, r), 1e-12, "9/10 * 1.8 + 0.1");
    int negative = 0;
    for (int i = 0; i < 4000; i++) {
      double f = RandAugment.argument("ContrastIncreasing", 9, r);
      assertTrue(Math.abs(f - 1.81) < 1e-12 || Math.abs(f - 0.19) < 1e-12, "1 ± 0.81: " + f);
      if (RandAugment.argument("ShearY", 9, r) < 0) negative++;
    }
    assertEquals(0.5, negative / 4000.0, 0.03);
    for (int i = 0; i < 20; i++) {
      double f = RandAugment.argument("BrightnessIncreasing", 10, r);
      assertTrue(Math.abs(f - 1.9) < 1e-12 || Math.abs(f - 0.1) < 1e-12, "max(0.1, 1 ± 0.9): " + f);
    }
    assertTrue(Double.isNaN(RandAugment.argument("Equalize", 9, r)));
  }

  /** Ops uniformly with replacement, each applied with probability ½, magnitudes N(9, 0.5) clipped to [0, 10]. */
  @Test
  void drawsFollowTimm() {
    RandAugment ra = RandAugment.parse(RandAugment.OFFICIAL, FILL);
    Image img = ramp(8, 8, 1);
    Map<String, Integer> count = new HashMap<>();
    int applied = 0, draws = 6000;
    double magSum = 0, magSq = 0;
    for (int i = 0; i < draws; i++) {
      List<RandAugment.Applied> log = new ArrayList<>();
      ra.apply(img, new SplittableRandom(i), log);
      applied += log.size();
      for (RandAugment.Applied a : log) {
        count.merge(a.op(), 1, Integer::sum);
        assertTrue(a.magnitude() >= 0 && a.magnitude() <= 10);
        magSum += a.magnitude();
        magSq += a.magnitude() * a.magnitude();
      }
    }
    assertEquals(0.5, applied / (2.0 * draws), 0.02, "each of the 2 ops applied with probability 0.5");
    assertEquals(15, count.size());
    for (var e : count.entrySet()) assertEquals(1.0 / 15, e.getValue() / (double) applied, 0.012, e.getKey());
    double mean = magSum / applied, sd = Math.sqrt(magSq / applied - mean * mean);
    // N(9, 0.5) clipped at 10 (2.3 % above): mean a little under 9, sd a little under 0.5
    assertEquals(9.0, mean, 0.03);
    assertEquals(0.49, sd, 0.03);
  }

  @Test
  void pixelOpsFollowPil() {
    Image ramp = ramp(16, 16, 1);
    byte[] v = ramp.pixels();
    assertEquals(255 - (v[37] & 0xff), PixelOps.apply("Invert", ramp, Double.NaN, FILL).pixels()[37] & 0xff);
    assertEquals((v[200] & 0xff) & 0xe0, PixelOps.apply("PosterizeIncreasing", ramp, 3, FILL).pixels()[200] & 0xff, "keep 3 bits");
    for (int i = 0; i < v.length; i++) {
      int x = v[i] & 0xff;
      assertEquals(x < 26 ? x : 255 - x, PixelOps.apply("SolarizeIncreasing", ramp, 26, FILL).pixels()[i] & 0xff);
      assertEquals(x < 128 ? Math.min(255, x + 99) : x, PixelOps.apply("SolarizeAdd", ramp, 99, FILL).pixels()[i] & 0xff);
    }
    // autocontrast: values 50..100 stretched to 0..255 (PIL: int(v * scale + offset))
    byte[] narrow = new byte[64];
    for (int i = 0; i < 64; i++) narrow[i] = (byte) (50 + i * 50 / 63);
    Image n = PixelOps.apply("AutoContrast", new Image(8, 8, 1, narrow), Double.NaN, FILL);
    double scale = 255.0 / 50, offset = -50 * scale;
    for (int i = 0; i < 64; i++) {
      // PIL's arithmetic exactly, float rounding included (100 maps to int(254.99999999999997) = 254)
      assertEquals((int) ((narrow[i] & 0xff) * scale + offset), n.pixels()[i] & 0xff, "value " + (narrow[i] & 0xff));
    }
    assertEquals(0, n.pixels()[0] & 0xff);
    // equalize: 256 pixels of values 0..255 already flat: the identity; a two-value image: PIL leaves it (step 0)
    assertArrayEquals(ramp.pixels(), PixelOps.equalize(ramp).pixels());
    // brightness 0 → black, 1 → unchanged; contrast towards the mean luma
    assertEquals(0, PixelOps.apply("BrightnessIncreasing", ramp, 0.0, FILL).pixels()[100]);
    assertArrayEquals(ramp.pixels(), PixelOps.apply("SharpnessIncreasing", ramp, 1.0, FILL).pixels());
    assertArrayEquals(ramp.pixels(), PixelOps.apply("ContrastIncreasing", ramp, 1.0, FILL).pixels());
    assertEquals(128, PixelOps.meanLuma(ramp), "ImageEnhance.Contrast: int(mean 127.5 + 0.5)");
    Image contrast = PixelOps.apply("ContrastIncreasing", ramp, 0.5, FILL);
    for (int i = 0; i < 256; i++) assertEquals((int) (128 + 0.5 * (i - 128)), contrast.pixels()[i] & 0xff, "blend with the mean, truncated");
  }

  @Test
  void geometricOpsMoveWholePixelsExactlyAndFillWithTheMean() {
    Image ramp = ramp(16, 16, 3);
    assertArrayEquals(ramp.pixels(), PixelOps.apply("Rotate", ramp, 0.0, new int[] {1, 2, 3}).pixels());
    assertArrayEquals(ramp.pixels(), PixelOps.apply("ShearX", ramp, 0.0, new int[] {1, 2, 3}).pixels());
    // translate by 4 pixels (0.25 of 16): output x samples input x + 4; the right 4 columns are the fill
    Image t = PixelOps.apply("TranslateXRel", ramp, 0.25, new int[] {1, 2, 3});
    for (int y = 0; y < 16; y++) {
      for (int x = 0; x < 16; x++) {
        for (int c = 0; c < 3; c++) {
          int want = x + 4 < 16 ? ramp.at(y, x + 4, c) : c + 1;
          assertEquals(want, t.at(y, x, c), "(" + x + "," + y + "," + c + ")");
        }
      }
    }
    // rotating by 90 degrees (PIL: counter-clockwise) maps the top row onto the left column
    Image r = PixelOps.apply("Rotate", ramp, 90.0, new int[] {1, 2, 3});
    for (int i = 0; i < 16; i++) assertEquals(ramp.at(0, 15 - i, 0), r.at(i, 0, 0), "row " + i);
  }

  static Image ramp(int w, int h, int c) {
    byte[] px = new byte[w * h * c];
    for (int i = 0; i < px.length; i++) px[i] = (byte) ((i * 37 + (i / c) * 11) & 0xff);
    if (c == 1 && w * h == 256) for (int i = 0; i < 256; i++) px[i] = (byte) i;
    return new Image(w, h, c, px);
  }
}
