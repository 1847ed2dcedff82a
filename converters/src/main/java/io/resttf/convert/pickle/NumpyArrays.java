package io.resttf.convert.pickle;

import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.tensor.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * numpy arrays as a pickle holds them (detectron2's {@code .pkl} checkpoints): {@code
 * numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')} then BUILD with the state {@code (version, shape,
 * dtype, is_fortran, raw_bytes)}, the dtype itself {@code numpy.dtype('f4', False, True)} with BUILD state
 * {@code (3, '<', ...)}. Read as data only: the raw bytes are decoded by dtype and byte order, after checking
 * that their length is exactly shape × item size; Fortran-ordered data is transposed to C order.
 */
public final class NumpyArrays {
  private NumpyArrays() {}

  /** Whether {@code o} is an unpickled numpy array (an inert {@code _reconstruct} placeholder). */
  public static boolean isArray(Object o) {
    return o instanceof PickleObject p && p.type().qualified().endsWith("multiarray._reconstruct");
  }

  /**
   * The array as a host tensor (float32, float64 and float16 as floats; integer and bool types as longs).
   *
   * @throws PickleDataException naming {@code what} when the array's state is not what numpy writes
   */
  public static HostTensor toHost(Object o, String what) {
    if (!isArray(o)) throw new PickleDataException(what + " is a " + PickleGlobals.typeName(o) + ", not a numpy array");
    Object state = ((PickleObject) o).state();
    if (!(state instanceof Object[] s) || (s.length != 5 && s.length != 4)) {
      throw new PickleDataException(what + ": numpy array without its (version, shape, dtype, order, data) state");
    }
    int off = s.length == 5 ? 1 : 0;
    long[] shape = shape(s[off], what);
    Object dtypeObj = s[off + 1];
    boolean fortran = Boolean.TRUE.equals(s[off + 2]);
    byte[] data = bytes(s[off + 3], what);
    if (!(dtypeObj instanceof PickleObject dt) || !dt.type().qualified().equals("numpy.dtype")
        || dt.args().length < 1 || !(dt.args()[0] instanceof String code)) {
      throw new PickleDataException(what + ": numpy array with a " + PickleGlobals.typeName(dtypeObj) + " dtype");
    }
    ByteOrder order = ByteOrder.LITTLE_ENDIAN;
    if (dt.state() instanceof Object[] ds && ds.length >= 2 && ">".equals(ds[1])) order = ByteOrder.BIG_ENDIAN;
    int itemSize = itemSize(code, what);
    long n = HostTensor.numElements(shape);
    if (n > Integer.MAX_VALUE || n * itemSize != data.length) {
      throw new PickleDataException(what + ": numpy array of shape " + java.util.Arrays.toString(shape) + " and dtype "
          + code + " needs " + (n * itemSize) + " bytes, the file holds " + data.length);
    }
    ByteBuffer b = ByteBuffer.wrap(data).order(order);
    int count = (int) n;
    int[] index = fortran ? fortranToC(shape) : null;
    switch (code) {
      case "f4": {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[at(index, i)] = b.getFloat(i * 4);
        return HostTensor.ofFloats("F32", shape, v);
      }
      case "f8": {
        double[] v = new double[count];
        for (int i = 0; i < count; i++) v[at(index, i)] = b.getDouble(i * 8);
        return HostTensor.ofDoubles(shape, v);
      }
      case "f2": {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[at(index, i)] = Safetensors.halfToFloat(b.getShort(i * 2));
        return HostTensor.ofFloats("F16", shape, v);
      }
      default: {
        long[] v = new long[count];
        for (int i = 0; i < count; i++) {
          long x = switch (code) {
            case "i8", "u8" -> b.getLong(i * 8);
            case "i4" -> b.getInt(i * 4);
            case "u4" -> b.getInt(i * 4) & 0xffffffffL;
            case "i2" -> b.getShort(i * 2);
            case "u2" -> b.getShort(i * 2) & 0xffff;
            case "i1" -> b.get(i);
            default -> b.get(i) & 0xff; // u1, b1
          };
          v[at(index, i)] = x;
        }
        return HostTensor.ofLongs(code.equals("b1") ? "BOOL" : code.toUpperCase(java.util.Locale.ROOT), shape, v);
      }
    }
  }

  private static int at(int[] index, int i) {
    return index == null ? i : index[i];
  }

  /** For Fortran-ordered element i (first axis fastest), its C-order position. */
  private static int[] fortranToC(long[] shape) {
    int n = (int) HostTensor.numElements(shape);
    int[] out = new int[n];
    int rank = shape.length;
    long[] idx = new long[rank];
    for (int i = 0; i < n; i++) {
      long c = 0;
      for (int d = 0; d < rank; d++) c = c * shape[d] + idx[d];
      out[i] = (int) c;
      for (int d = 0; d < rank; d++) {
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
    return out;
  }

  private static int itemSize(String code, String what) {
    return switch (code) {
      case "f8", "i8", "u8" -> 8;
      case "f4", "i4", "u4" -> 4;
      case "f2", "i2", "u2" -> 2;
      case "i1", "u1", "b1" -> 1;
      default -> throw new PickleDataException(what + ": numpy dtype '" + code + "' is not supported (floats, ints, bool)");
    };
  }

  private static long[] shape(Object o, String what) {
    if (!(o instanceof Object[] t)) throw new PickleDataException(what + ": numpy array shape is a " + PickleGlobals.typeName(o));
    long[] shape = new long[t.length];
    for (int i = 0; i < t.length; i++) {
      if (!(t[i] instanceof Number num) || num.longValue() < 0 || num.longValue() > Integer.MAX_VALUE) {
        throw new PickleDataException(what + ": numpy array shape entry " + t[i] + " is not a size");
      }
      shape[i] = num.longValue();
    }
    return shape;
  }

  private static byte[] bytes(Object o, String what) {
    if (o instanceof byte[] b) return b;
    if (o instanceof String s) return s.getBytes(StandardCharsets.ISO_8859_1); // Python 2 str, loaded as latin-1
    throw new PickleDataException(what + ": numpy array data is a " + PickleGlobals.typeName(o) + " (object arrays are not read)");
  }
}
