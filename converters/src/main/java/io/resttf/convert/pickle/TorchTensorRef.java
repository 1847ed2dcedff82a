package io.resttf.convert.pickle;

import java.util.Arrays;

/**
 * A tensor as {@code _rebuild_tensor_v2} describes it: a strided view into a storage. Validated on creation
 * (non-negative sizes and strides, no overflow, every element inside the storage) so forged shapes fail while
 * the pickle is read, before any data is touched.
 */
public record TorchTensorRef(TorchStorageRef storage, long offset, long[] shape, long[] stride, long numel) {
  static final int MAX_RANK = 64;

  static TorchTensorRef of(TorchStorageRef storage, long offset, long[] shape, long[] stride) {
    String view = "tensor view (offset " + offset + ", size " + Arrays.toString(shape) + ", stride "
        + Arrays.toString(stride) + ")";
    if (shape.length != stride.length) {
      throw new PickleDataException(storage.entry(), view + " has sizes and strides of different ranks");
    }
    if (shape.length > MAX_RANK) {
      throw new PickleDataException(storage.entry(), view + " has more than " + MAX_RANK + " dimensions");
    }
    if (offset < 0) {
      throw new PickleDataException(storage.entry(), view + " has a negative storage offset");
    }
    long numel = 1;
    long last = offset;
    try {
      for (int i = 0; i < shape.length; i++) {
        if (shape[i] < 0 || stride[i] < 0) {
          throw new PickleDataException(storage.entry(), view + " has a negative size or stride");
        }
        numel = Math.multiplyExact(numel, shape[i]);
      }
      if (numel > 0) {
        for (int i = 0; i < shape.length; i++) {
          last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, stride[i]));
        }
      }
    } catch (ArithmeticException e) {
      throw new PickleDataException(storage.entry(), view + " overflows 64-bit arithmetic");
    }
    boolean fits = numel == 0 ? offset <= storage.numel() : last < storage.numel();
    if (!fits) {
      throw new PickleDataException(storage.entry(), view + " reaches element " + last + " but the storage has "
          + storage.numel() + " elements");
    }
    return new TorchTensorRef(storage, offset, shape.clone(), stride.clone(), numel);
  }

  /** Whether the view reads {@code numel} consecutive storage elements in C order. */
  public boolean isContiguous() {
    long expected = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      if (shape[i] != 1 && stride[i] != expected) {
        return false;
      }
      expected *= shape[i];
    }
    return true;
  }

  /** Storage elements the view spans (0 if empty), for memory budgets. */
  long span() {
    if (numel == 0) {
      return 0;
    }
    long s = 1;
    for (int i = 0; i < shape.length; i++) {
      s += (shape[i] - 1) * stride[i];
    }
    return s;
  }
}
