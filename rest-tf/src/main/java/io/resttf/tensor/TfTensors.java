package io.resttf.tensor;

import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/** Copies between TF float tensors and {@link HostTensor}s: the one place data crosses into and out of TF. */
public final class TfTensors {
  private TfTensors() {}

  /** A host copy (shape and values) of a float tensor. */
  public static HostTensor toHost(TFloat32 t) {
    long[] shape = t.shape().asArray();
    float[] data = new float[Math.toIntExact(t.size())];
    t.copyTo(DataBuffers.of(data, false, false));
    return HostTensor.ofFloats(shape, data);
  }

  /** A new TF tensor holding {@code t}'s values as float32 (the caller closes it). */
  public static TFloat32 toTf(HostTensor t) {
    return TFloat32.tensorOf(Shape.of(t.shape()), DataBuffers.of(t.toFloats(), true, false));
  }
}
