package io.resttf.model;

import io.resttf.tensor.HostTensor;
import java.util.Arrays;

/**
 * One parameter as its layer declares it, without a graph: official key, {@link ParamKind}, official
 * shape, TF shape and, for weights and conv biases, the fan-in of its layer (in/groups · kh · kw, or in).
 * The factories are the only place shapes and layouts are paired.
 */
public record ParamSpec(String key, ParamKind kind, long[] officialShape, long[] tfShape, long fanIn) {
  public ParamSpec {
    officialShape = officialShape.clone();
    tfShape = tfShape.clone();
  }

  /** nn.Conv2d(in, out, (kh, kw)) weight. */
  public static ParamSpec conv(String key, long out, long in, long kh, long kw) {
    return new ParamSpec(key, ParamKind.CONV, new long[] {out, in, kh, kw}, new long[] {kh, kw, in, out}, in * kh * kw);
  }

  /** nn.Conv2d(c, c·m, k, groups=c) weight: official [c·m, 1, k, k], TF [k, k, c, m]. */
  public static ParamSpec depthwise(String key, long c, long m, long k) {
    return new ParamSpec(key, ParamKind.DEPTHWISE, new long[] {c * m, 1, k, k}, new long[] {k, k, c, m}, k * k);
  }

  /** A residual branch's nn.Conv2d(c, c, k, groups=c) weight, fresh at zero ({@link ParamKind#RESIDUAL_DEPTHWISE}). */
  public static ParamSpec residualDepthwise(String key, long c, long k) {
    return new ParamSpec(key, ParamKind.RESIDUAL_DEPTHWISE, new long[] {c, 1, k, k}, new long[] {k, k, c, 1}, k * k);
  }

  /** nn.Conv2d(heads, heads, 1) across attention heads: official [h, h, 1, 1], TF [h_in, h_out]. */
  public static ParamSpec headMix(String key, long heads) {
    return new ParamSpec(key, ParamKind.HEAD_MIX, new long[] {heads, heads, 1, 1}, new long[] {heads, heads}, heads);
  }

  /** nn.Linear(in, out) weight: official [out, in], TF [in, out]. */
  public static ParamSpec linear(String key, long out, long in) {
    return new ParamSpec(key, ParamKind.LINEAR, new long[] {out, in}, new long[] {in, out}, in);
  }

  /** The bias of {@code weight}'s layer, {@code size} long, with that layer's fan-in. */
  public static ParamSpec bias(String key, ParamSpec weight, long size) {
    ParamKind kind = weight.kind() == ParamKind.LINEAR ? ParamKind.LINEAR_BIAS : ParamKind.CONV_BIAS;
    return new ParamSpec(key, kind, new long[] {size}, new long[] {size}, weight.fanIn());
  }

  /** A 1-D tensor of {@code size} of a kind whose layout is the same in both frameworks (norms, buffers). */
  public static ParamSpec vector(String key, ParamKind kind, long size) {
    if (kind != ParamKind.NORM_WEIGHT && kind != ParamKind.NORM_BIAS && kind != ParamKind.RUNNING_MEAN
        && kind != ParamKind.RUNNING_VAR) {
      throw new IllegalArgumentException(key + ": " + kind + " is not a vector kind");
    }
    return new ParamSpec(key, kind, new long[] {size}, new long[] {size}, 0);
  }

  /** The same declaration under another key (a module nested under a prefix). */
  public ParamSpec withKey(String newKey) {
    return new ParamSpec(newKey, kind, officialShape, tfShape, fanIn);
  }

  /** Number of elements. */
  public long size() {
    return HostTensor.numElements(tfShape);
  }

  public boolean trainable() {
    return kind.trainable();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ParamSpec p && key.equals(p.key) && kind == p.kind && fanIn == p.fanIn
        && Arrays.equals(officialShape, p.officialShape) && Arrays.equals(tfShape, p.tfShape);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * key.hashCode() + kind.hashCode()) + Arrays.hashCode(officialShape);
  }

  @Override
  public String toString() {
    return key + " " + kind + " " + Arrays.toString(officialShape) + " → " + Arrays.toString(tfShape);
  }
}
