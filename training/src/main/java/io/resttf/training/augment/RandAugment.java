package io.resttf.training.augment;

import io.resttf.tensor.BadInputException;
import io.resttf.training.data.Image;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * timm's RandAugment ({@code rand_augment_transform}) on decoded 8-bit images, configured by timm's string
 * ({@code rand-m9-mstd0.5-inc1}, the official recipe's {@code --aa}): per image, {@code n} ops (default 2) drawn
 * uniformly with replacement from timm's list (the "increasing" list with {@code inc1}), each applied with
 * probability {@code p} (0.5) at a magnitude drawn from N(m, mstd) and clipped to [0, mmax] (10), mapped to the
 * op's argument by timm's level functions (signs drawn for the signed ones). Geometric ops fill with the
 * dataset mean and sample bicubically, as the official recipe sets them ({@code --train_interpolation bicubic}).
 *
 * <p>The pixel ops follow PIL's definitions (ImageOps autocontrast / equalize / invert / posterize / solarize,
 * ImageEnhance's blends with their degenerate images, the SMOOTH filter for sharpness, luma as PIL's "L"); the
 * geometric ops use PIL's affine matrices on pixel centres with a Keys (a = −0.5) bicubic kernel, which is not
 * bit-for-bit PIL's resampler.
 */
public final class RandAugment {
  /** timm's {@code _LEVEL_DENOM}: magnitudes are out of 10. */
  public static final double LEVEL_DENOM = 10;
  /** The official recipe's configuration. */
  public static final String OFFICIAL = "rand-m9-mstd0.5-inc1";

  /** timm's {@code _RAND_TRANSFORMS}, in its order. */
  public static final List<String> OPS = List.of("AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "Solarize",
      "SolarizeAdd", "Color", "Contrast", "Brightness", "Sharpness", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel");
  /** timm's {@code _RAND_INCREASING_TRANSFORMS} (inc1), in its order. */
  public static final List<String> INCREASING_OPS = List.of("AutoContrast", "Equalize", "Invert", "Rotate", "PosterizeIncreasing",
      "SolarizeIncreasing", "SolarizeAdd", "ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing", "SharpnessIncreasing",
      "ShearX", "ShearY", "TranslateXRel", "TranslateYRel");

  private final String spec;
  private final int numLayers;
  private final double magnitude;
  private final double magnitudeStd;
  private final double magnitudeMax;
  private final double prob;
  private final List<String> ops;
  private final int[] fill;

  private RandAugment(String spec, int numLayers, double magnitude, double magnitudeStd, double magnitudeMax, double prob,
      List<String> ops, int[] fill) {
    this.spec = spec;
    this.numLayers = numLayers;
    this.magnitude = magnitude;
    this.magnitudeStd = magnitudeStd;
    this.magnitudeMax = magnitudeMax;
    this.prob = prob;
    this.ops = ops;
    this.fill = fill;
  }

  /**
   * Parses timm's string: {@code rand} then {@code -}-separated sections {@code mN} (magnitude), {@code nN} (ops per
   * image), {@code mstdF} (magnitude std; above 100 = uniform in [0, m]), {@code mmaxN}, {@code incN}, {@code pF}.
   * {@code fill}: the geometric ops' fill colour per channel (timm: the mean × 255, rounded).
   *
   * @throws BadInputException naming the section that is not timm's
   */
  public static RandAugment parse(String spec, int[] fill) {
    String[] parts = spec.split("-");
    if (!parts[0].equals("rand")) throw new BadInputException("--aa " + spec + ": a RandAugment string starts with 'rand-' (e.g. " + OFFICIAL + ")");
    double m = LEVEL_DENOM, std = 0, max = LEVEL_DENOM, p = 0.5;
    int n = 2;
    boolean increasing = false;
    Pattern section = Pattern.compile("([a-z]+)([0-9][0-9.]*)");
    for (int i = 1; i < parts.length; i++) {
      Matcher s = section.matcher(parts[i]);
      if (!s.matches()) throw new BadInputException("--aa " + spec + ": section '" + parts[i] + "' is not KEY + number");
      double v;
      try {
        v = Double.parseDouble(s.group(2));
      } catch (NumberFormatException e) {
        throw new BadInputException("--aa " + spec + ": section '" + parts[i] + "' is not KEY + number");
      }
      switch (s.group(1)) {
        case "m" -> m = (int) v;
        case "n" -> n = (int) v;
        case "mstd" -> std = v > 100 ? Double.POSITIVE_INFINITY : v;
        case "mmax" -> max = (int) v;
        case "inc" -> increasing = v != 0;
        case "p" -> p = v;
        default -> throw new BadInputException("--aa " + spec + ": unknown section '" + s.group(1) + "' (timm knows m, n, mstd, mmax, inc, p)");
      }
    }
    if (n < 1 || n > 10) throw new BadInputException("--aa " + spec + ": n" + n + " ops per image, expected 1..10");
    if (!(p >= 0 && p <= 1)) throw new BadInputException("--aa " + spec + ": p" + p + " must be in [0, 1]");
    if (m < 0 || max <= 0) throw new BadInputException("--aa " + spec + ": magnitudes must not be negative");
    return new RandAugment(spec, n, m, std, max, p, increasing ? INCREASING_OPS : OPS, fill.clone());
  }

  public String spec() {
    return spec;
  }

  public int numLayers() {
    return numLayers;
  }

  public double magnitude() {
    return magnitude;
  }

  public double magnitudeStd() {
    return magnitudeStd;
  }

  public double magnitudeMax() {
    return magnitudeMax;
  }

  public double prob() {
    return prob;
  }

  public List<String> ops() {
    return ops;
  }

  /** One applied op: its name, the magnitude drawn, its argument (NaN for ops without one). */
  public record Applied(String op, double magnitude, double arg) {}

  /** Augments {@code img}; {@code log}, when not null, receives the ops that were applied. */
  public Image apply(Image img, SplittableRandom rng, List<Applied> log) {
    for (int i = 0; i < numLayers; i++) {
      String op = ops.get(rng.nextInt(ops.size()));
      // AugmentOp: skipped with probability 1 − p, then the magnitude noise, clipped to [0, mmax]
      if (prob < 1 && rng.nextDouble() > prob) continue;
      double mag = magnitude;
      if (magnitudeStd == Double.POSITIVE_INFINITY) mag = rng.nextDouble() * magnitude;
      else if (magnitudeStd > 0) mag = magnitude + magnitudeStd * Mixup.normal(rng);
      mag = Math.max(0, Math.min(mag, magnitudeMax));
      double arg = argument(op, mag, rng);
      img = PixelOps.apply(op, img, arg, fill);
      if (log != null) log.add(new Applied(op, mag, arg));
    }
    return img;
  }

  /** timm's level function of {@code op} at {@code level} (signs from {@code rng} where timm draws one); NaN: no argument. */
  public static double argument(String op, double level, SplittableRandom rng) {
    return switch (op) {
      case "AutoContrast", "Equalize", "Invert" -> Double.NaN;
      case "Rotate" -> negate(level / LEVEL_DENOM * 30, rng);
      case "ShearX", "ShearY" -> negate(level / LEVEL_DENOM * 0.3, rng);
      case "TranslateXRel", "TranslateYRel" -> negate(level / LEVEL_DENOM * 0.45, rng);
      case "Posterize" -> (int) (level / LEVEL_DENOM * 4);
      case "PosterizeIncreasing" -> 4 - (int) (level / LEVEL_DENOM * 4);
      case "Solarize" -> (int) (level / LEVEL_DENOM * 256);
      case "SolarizeIncreasing" -> 256 - (int) (level / LEVEL_DENOM * 256);
      case "SolarizeAdd" -> (int) (level / LEVEL_DENOM * 110);
      case "Color", "Contrast", "Brightness", "Sharpness" -> level / LEVEL_DENOM * 1.8 + 0.1;
      case "ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing", "SharpnessIncreasing" ->
          Math.max(0.1, 1.0 + negate(level / LEVEL_DENOM * 0.9, rng));
      default -> throw new IllegalArgumentException("no RandAugment op " + op);
    };
  }

  /** timm's {@code _randomly_negate}: −v if random() > 0.5. */
  private static double negate(double v, SplittableRandom rng) {
    return rng.nextDouble() > 0.5 ? -v : v;
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%s (%d ops of %d, p %.2f, magnitude %.1f ± %.2f, max %.0f)", spec, numLayers, ops.size(), prob,
        magnitude, magnitudeStd, magnitudeMax);
  }
}
