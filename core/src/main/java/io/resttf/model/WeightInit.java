package io.resttf.model;

import io.resttf.tensor.HostTensor;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Fresh weights in the official layout, as the official {@code _init_weights} draws them: Linear
 * trunc_normal(std .02) and zero bias; Conv2d normal(0, √(2 / fan_out)) with fan_out = k·k·out/groups
 * and zero bias; norms weight 1, bias 0; BatchNorm running mean 0, variance 1.
 */
public final class WeightInit {
  private WeightInit() {}

  /** {@code tfShape} (from {@link WeightMapping#tfShape}) gives a depthwise conv's group count C. */
  public static HostTensor init(String key, long[] officialShape, long[] tfShape, SplittableRandom rng) {
    int n = Math.toIntExact(HostTensor.numElements(officialShape));
    float[] v = new float[n];
    WeightMapping.Layout layout = WeightMapping.layout(key);
    if (key.endsWith(".running_var")) {
      Arrays.fill(v, 1f);
    } else if (key.endsWith(".bias") || key.endsWith(".running_mean")) {
      // zeros
    } else if (layout == WeightMapping.Layout.LINEAR) {
      for (int i = 0; i < n; i++) v[i] = (float) (0.02 * truncatedNormal(rng));
    } else if (layout == WeightMapping.Layout.IDENTITY) {
      Arrays.fill(v, 1f); // norm scales
    } else {
      long out = officialShape[0], k = officialShape[2] * officialShape[3];
      long groups = layout == WeightMapping.Layout.DEPTHWISE ? tfShape[2] : 1;
      double fanOut = (double) k * out / groups;
      double std = Math.sqrt(2.0 / fanOut);
      for (int i = 0; i < n; i++) v[i] = (float) (std * gaussian(rng));
    }
    return HostTensor.ofFloats(officialShape, v);
  }

  /** Standard normal truncated to [-2, 2] (timm's trunc_normal_ with std 1, a=-2, b=2). */
  static double truncatedNormal(SplittableRandom rng) {
    while (true) {
      double g = gaussian(rng);
      if (g >= -2 && g <= 2) return g;
    }
  }

  static double gaussian(SplittableRandom rng) {
    // Box-Muller; SplittableRandom has no nextGaussian in Java 17
    double u1 = rng.nextDouble(), u2 = rng.nextDouble();
    return Math.sqrt(-2 * Math.log1p(-u1)) * Math.cos(2 * Math.PI * u2);
  }
}
