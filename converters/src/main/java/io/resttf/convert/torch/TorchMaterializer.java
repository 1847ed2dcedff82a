package io.resttf.convert.torch;

import io.resttf.convert.pickle.PickleDataException;
import io.resttf.convert.pickle.TorchDType;
import io.resttf.convert.pickle.TorchStorageRef;
import io.resttf.convert.pickle.TorchTensorRef;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.ReadProgress;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns tensor views into {@link HostTensor}s: reads each needed root storage once (in the order tensors
 * first use it) in {@link #CHUNK}-byte chunks through one reused direct buffer, and copies every view of it
 * out with its offset and strides. Contiguous views (the usual case) are filled straight from each chunk, so a
 * storage's bytes are never held whole; a storage with a strided view is collected into one byte array first,
 * dropped before the next. Half and bfloat16 widen to float32 exactly; float64 stays double; integers and
 * bools become longs. Sizes are checked before anything is allocated.
 */
final class TorchMaterializer {
  /** Java arrays hold at most about this many elements. */
  static final long MAX_ARRAY = Integer.MAX_VALUE - 8;
  private static final long REPORT_EVERY = 1 << 20;
  /** Bytes read from the file at a time (a multiple of 8, so chunks hold whole elements). */
  static final int CHUNK = 1 << 20;
  private static final float[] HALF = new float[1 << 16];

  static {
    for (int i = 0; i < HALF.length; i++) {
      HALF[i] = halfToFloat(i);
    }
  }

  private TorchMaterializer() {}

  /**
   * Materialises {@code refs} (parallel to {@code keys}) in that order. The tensors may add up to at most
   * {@code 2 * fileSize + 4 Mi} elements: views can overlap (shared storages), but a forged shape must not
   * make a small file allocate gigabytes.
   */
  static LinkedHashMap<String, HostTensor> materialize(List<String> keys, List<TorchTensorRef> refs,
      TorchStorageSource src, TorchReadContext ctx, ReadProgress progress) throws IOException {
    long elements = 0;
    Map<String, List<Integer>> byRoot = new LinkedHashMap<>();
    for (int i = 0; i < refs.size(); i++) {
      TorchTensorRef t = refs.get(i);
      if (t.numel() > MAX_ARRAY) {
        throw new PickleDataException(t.storage().entry(), "tensor '" + keys.get(i) + "' has " + t.numel()
            + " elements, more than a Java array holds");
      }
      elements += t.numel();
      byRoot.computeIfAbsent(t.storage().rootKey(), k -> new ArrayList<>()).add(i);
    }
    long budget = 2 * ctx.fileSize + (1L << 22);
    if (elements > budget) {
      throw new PickleDataException("the state_dict's tensors add up to " + elements + " elements, more than a file of "
          + ctx.fileSize + " bytes can describe (forged shapes or strides?)");
    }
    long total = 0;
    for (String key : byRoot.keySet()) {
      TorchStorageRef root = src.root(key);
      long bytes = root.numel() * root.dtype().itemSize;
      if (bytes > MAX_ARRAY) {
        throw new PickleDataException(root.entry(), "storages over 2 GiB are not supported");
      }
      total += bytes;
    }
    HostTensor[] out = new HostTensor[refs.size()];
    long[] done = {0, 0}; // bytes read, bytes at last report
    final long grandTotal = total;
    ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK).order(src.order());
    for (Map.Entry<String, List<Integer>> group : byRoot.entrySet()) {
      TorchStorageRef root = src.root(group.getKey());
      ctx.entry = root.entry();
      TorchDType dt = root.dtype();
      List<Integer> members = group.getValue();
      boolean contiguous = true;
      for (int i : members) {
        contiguous &= refs.get(i).isContiguous();
      }
      if (contiguous) {
        // the common case: every view is a run of consecutive elements, copied straight out of each chunk
        Object[] arrays = new Object[members.size()];
        long[] starts = new long[members.size()];
        int[] sizes = new int[members.size()];
        for (int j = 0; j < arrays.length; j++) {
          TorchTensorRef t = refs.get(members.get(j));
          sizes[j] = (int) t.numel();
          arrays[j] = newArray(dt, sizes[j]);
          starts[j] = t.storage().elemOffset() + t.offset();
        }
        src.stream(group.getKey(), buf, (chunk, offset) -> {
          long first = offset / dt.itemSize;
          int count = chunk.limit() / dt.itemSize;
          for (int j = 0; j < arrays.length; j++) {
            long from = Math.max(first, starts[j]);
            long to = Math.min(first + count, starts[j] + sizes[j]);
            if (from < to) {
              copy(dt, chunk, (int) (from - first), arrays[j], (int) (from - starts[j]), (int) (to - from));
            }
          }
          report(done, chunk.limit(), progress, grandTotal);
        });
        for (int j = 0; j < arrays.length; j++) {
          int i = members.get(j);
          out[i] = wrap(dt, refs.get(i).shape(), arrays[j]);
        }
      } else {
        byte[] data = new byte[(int) (root.numel() * dt.itemSize)];
        src.stream(group.getKey(), buf, (chunk, offset) -> {
          chunk.get(0, data, (int) offset, chunk.limit());
          report(done, chunk.limit(), progress, grandTotal);
        });
        ByteBuffer bb = ByteBuffer.wrap(data).order(src.order());
        for (int i : members) {
          out[i] = convert(bb, refs.get(i));
        }
      }
    }
    if (progress != null) {
      progress.bytesRead(done[0], grandTotal);
    }
    LinkedHashMap<String, HostTensor> result = new LinkedHashMap<>();
    for (int i = 0; i < out.length; i++) {
      result.put(keys.get(i), out[i]);
    }
    return result;
  }

  private static void report(long[] done, int n, ReadProgress progress, long total) {
    done[0] += n;
    if (progress != null && done[0] - done[1] >= REPORT_EVERY) {
      done[1] = done[0];
      progress.bytesRead(done[0], total);
    }
  }

  /** The Java array a tensor of {@code dt} is held in: float[] (F32, F16, BF16), double[] (F64), else long[]. */
  private static Object newArray(TorchDType dt, int n) {
    switch (dt) {
      case F32:
      case F16:
      case BF16:
        return new float[n];
      case F64:
        return new double[n];
      default:
        return new long[n];
    }
  }

  private static HostTensor wrap(TorchDType dt, long[] shape, Object array) {
    switch (dt) {
      case F32:
      case F16:
      case BF16:
        return HostTensor.ofFloats(dt.label, shape, (float[]) array);
      case F64:
        return HostTensor.ofDoubles(shape, (double[]) array);
      default:
        return HostTensor.ofLongs(dt.label, shape, (long[]) array);
    }
  }

  /**
   * Converts {@code n} consecutive elements of {@code chunk} (in the source's byte order), from element
   * {@code from}, into {@code dst} at {@code at}.
   */
  static void copy(TorchDType dt, ByteBuffer chunk, int from, Object dst, int at, int n) {
    switch (dt) {
      case F32:
        chunk.asFloatBuffer().get(from, (float[]) dst, at, n);
        return;
      case F64:
        chunk.asDoubleBuffer().get(from, (double[]) dst, at, n);
        return;
      case I64:
        chunk.asLongBuffer().get(from, (long[]) dst, at, n);
        return;
      case F16:
      case BF16: {
        float[] o = (float[]) dst;
        boolean half = dt == TorchDType.F16;
        for (int i = 0; i < n; i++) {
          int bits = chunk.getShort((from + i) * 2) & 0xffff;
          o[at + i] = half ? HALF[bits] : Float.intBitsToFloat(bits << 16);
        }
        return;
      }
      case I32: {
        long[] o = (long[]) dst;
        for (int i = 0; i < n; i++) o[at + i] = chunk.getInt((from + i) * 4);
        return;
      }
      case I16: {
        long[] o = (long[]) dst;
        for (int i = 0; i < n; i++) o[at + i] = chunk.getShort((from + i) * 2);
        return;
      }
      default: { // one-byte types
        long[] o = (long[]) dst;
        for (int i = 0; i < n; i++) {
          byte v = chunk.get(from + i);
          o[at + i] = dt == TorchDType.U8 ? (v & 0xff) : dt == TorchDType.BOOL ? (v != 0 ? 1 : 0) : v;
        }
      }
    }
  }

  /** Copies one view out of its root storage's bytes. */
  static HostTensor convert(ByteBuffer bb, TorchTensorRef t) {
    TorchDType dt = t.storage().dtype();
    int n = (int) t.numel();
    int start = (int) (t.storage().elemOffset() + t.offset());
    int[] idx = t.isContiguous() ? null : indices(t, start, n);
    long[] shape = t.shape();
    switch (dt) {
      case F32: {
        float[] o = new float[n];
        FloatBuffer b = bb.asFloatBuffer();
        if (idx == null) {
          b.get(start, o);
        } else {
          for (int i = 0; i < n; i++) o[i] = b.get(idx[i]);
        }
        return HostTensor.ofFloats(dt.label, shape, o);
      }
      case F16:
      case BF16: {
        float[] o = new float[n];
        ShortBuffer b = bb.asShortBuffer();
        boolean half = dt == TorchDType.F16;
        for (int i = 0; i < n; i++) {
          int bits = b.get(idx == null ? start + i : idx[i]) & 0xffff;
          o[i] = half ? HALF[bits] : Float.intBitsToFloat(bits << 16);
        }
        return HostTensor.ofFloats(dt.label, shape, o);
      }
      case F64: {
        double[] o = new double[n];
        DoubleBuffer b = bb.asDoubleBuffer();
        if (idx == null) {
          b.get(start, o);
        } else {
          for (int i = 0; i < n; i++) o[i] = b.get(idx[i]);
        }
        return HostTensor.ofDoubles(shape, o);
      }
      case I64: {
        long[] o = new long[n];
        LongBuffer b = bb.asLongBuffer();
        if (idx == null) {
          b.get(start, o);
        } else {
          for (int i = 0; i < n; i++) o[i] = b.get(idx[i]);
        }
        return HostTensor.ofLongs(dt.label, shape, o);
      }
      case I32: {
        long[] o = new long[n];
        IntBuffer b = bb.asIntBuffer();
        for (int i = 0; i < n; i++) o[i] = b.get(idx == null ? start + i : idx[i]);
        return HostTensor.ofLongs(dt.label, shape, o);
      }
      case I16: {
        long[] o = new long[n];
        ShortBuffer b = bb.asShortBuffer();
        for (int i = 0; i < n; i++) o[i] = b.get(idx == null ? start + i : idx[i]);
        return HostTensor.ofLongs(dt.label, shape, o);
      }
      default: { // one-byte types
        long[] o = new long[n];
        for (int i = 0; i < n; i++) {
          byte v = bb.get(idx == null ? start + i : idx[i]);
          o[i] = dt == TorchDType.U8 ? (v & 0xff) : dt == TorchDType.BOOL ? (v != 0 ? 1 : 0) : v;
        }
        return HostTensor.ofLongs(dt.label, shape, o);
      }
    }
  }

  /** Storage element index of every view element, in C order. */
  private static int[] indices(TorchTensorRef t, int start, int n) {
    long[] shape = t.shape();
    long[] stride = t.stride();
    int r = shape.length;
    int[] idx = new int[n];
    if (n == 0) {
      return idx;
    }
    int inner = (int) shape[r - 1];
    int innerStride = (int) stride[r - 1];
    long[] counter = new long[r];
    long base = start;
    for (int o = 0; o < n; o += inner) {
      for (int j = 0; j < inner; j++) {
        idx[o + j] = (int) (base + (long) j * innerStride);
      }
      for (int d = r - 2; d >= 0; d--) { // odometer over the outer dimensions
        counter[d]++;
        base += stride[d];
        if (counter[d] < shape[d]) {
          break;
        }
        base -= counter[d] * stride[d];
        counter[d] = 0;
      }
    }
    return idx;
  }

  /** IEEE 754 binary16 to binary32, exact. */
  static float halfToFloat(int h) {
    int sign = (h >>> 15) & 1;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    float v;
    if (exp == 0) {
      v = mant * 0x1p-24f; // zero or subnormal
    } else if (exp == 31) {
      return Float.intBitsToFloat((sign << 31) | 0x7f800000 | (mant << 13));
    } else {
      return Float.intBitsToFloat((sign << 31) | ((exp - 15 + 127) << 23) | (mant << 13));
    }
    return sign == 1 ? -v : v;
  }
}
