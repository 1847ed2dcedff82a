package io.resttf.tensor;

import java.util.Arrays;
import java.util.Objects;

/**
 * A dense tensor in Java heap memory, C (row-major) order: what checkpoint readers produce and what the
 * model's weight loader consumes. Floating data of any source precision (F16, BF16, F32, F64) is held as
 * float32 values or, for F64 kept at full precision, doubles; integer data as longs.
 *
 * <p>{@code dtype} records the dtype the data had in its source file (e.g. "F16"), for reports.
 */
public final class HostTensor {
  private final String dtype;
  private final long[] shape;
  private final float[] floats;
  private final double[] doubles;
  private final long[] longs;

  private HostTensor(String dtype, long[] shape, float[] floats, double[] doubles, long[] longs) {
    this.dtype = Objects.requireNonNull(dtype, "dtype");
    this.shape = shape.clone();
    this.floats = floats;
    this.doubles = doubles;
    this.longs = longs;
    long n = numElements(shape);
    long have = floats != null ? floats.length : doubles != null ? doubles.length : longs.length;
    if (n != have) {
      throw new IllegalArgumentException(
          "tensor data has " + have + " elements but shape " + Arrays.toString(shape) + " needs " + n);
    }
  }

  /** Float data; {@code sourceDtype} says what the file held (F32, F16, BF16, F64). */
  public static HostTensor ofFloats(String sourceDtype, long[] shape, float[] data) {
    return new HostTensor(sourceDtype, shape, Objects.requireNonNull(data), null, null);
  }

  public static HostTensor ofFloats(long[] shape, float[] data) {
    return ofFloats("F32", shape, data);
  }

  /** Float64 data at full precision. */
  public static HostTensor ofDoubles(long[] shape, double[] data) {
    return new HostTensor("F64", shape, null, Objects.requireNonNull(data), null);
  }

  /** Integer (or boolean, 0/1) data; {@code sourceDtype} says what the file held (I64, I32, U8, BOOL, ...). */
  public static HostTensor ofLongs(String sourceDtype, long[] shape, long[] data) {
    return new HostTensor(sourceDtype, shape, null, null, Objects.requireNonNull(data));
  }

  public static long numElements(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  public String dtype() {
    return dtype;
  }

  public long[] shape() {
    return shape.clone();
  }

  public int rank() {
    return shape.length;
  }

  public long size() {
    return numElements(shape);
  }

  public boolean isFloating() {
    return floats != null || doubles != null;
  }

  /** The data as float32 (F64 rounded to nearest; integers converted). Returns the held array when it is float32. */
  public float[] toFloats() {
    if (floats != null) {
      return floats;
    }
    float[] out = new float[Math.toIntExact(size())];
    if (doubles != null) {
      for (int i = 0; i < out.length; i++) out[i] = (float) doubles[i];
    } else {
      for (int i = 0; i < out.length; i++) out[i] = (float) longs[i];
    }
    return out;
  }

  /** The data as doubles (exact for every source type except very large longs). */
  public double[] toDoubles() {
    if (doubles != null) {
      return doubles;
    }
    double[] out = new double[Math.toIntExact(size())];
    if (floats != null) {
      for (int i = 0; i < out.length; i++) out[i] = floats[i];
    } else {
      for (int i = 0; i < out.length; i++) out[i] = longs[i];
    }
    return out;
  }

  /** The data as longs; only for integer tensors. */
  public long[] toLongs() {
    if (longs == null) {
      throw new IllegalStateException("tensor of dtype " + dtype + " is not an integer tensor");
    }
    return longs;
  }

  public String shapeString() {
    return Arrays.toString(shape);
  }

  @Override
  public String toString() {
    return "HostTensor[" + dtype + " " + shapeString() + "]";
  }
}
