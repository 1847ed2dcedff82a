package io.resttf.serving;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The tensor files {@code src/test/runtime/CrossRuntimeRunner.java} reads and writes ("RTT1", dtype byte,
 * rank, dims, big-endian values), in plain Java: no TensorFlow runtime on either side of the exchange.
 */
final class TensorFiles {
  private TensorFiles() {}

  static final int FLOAT32 = 0, INT32 = 1, INT64 = 2, STRING = 3;

  /** A tensor read back: dtype, shape and the values (floats, ints and longs as double; strings as bytes). */
  record Value(int dtype, long[] shape, double[] numbers, List<byte[]> strings) {
    @Override
    public String toString() {
      return "dtype " + dtype + " shape " + Arrays.toString(shape);
    }
  }

  static void writeFloats(Path file, long[] shape, float[] v) throws IOException {
    try (DataOutputStream d = open(file, FLOAT32, shape)) {
      for (float x : v) d.writeFloat(x);
    }
  }

  static void writeStrings(Path file, List<byte[]> v) throws IOException {
    try (DataOutputStream d = open(file, STRING, new long[] {v.size()})) {
      for (byte[] b : v) {
        d.writeInt(b.length);
        d.write(b);
      }
    }
  }

  private static DataOutputStream open(Path file, int dtype, long[] shape) throws IOException {
    DataOutputStream d = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file)));
    d.writeBytes("RTT1");
    d.writeByte(dtype);
    d.writeInt(shape.length);
    for (long x : shape) d.writeLong(x);
    return d;
  }

  static Value read(Path file) throws IOException {
    try (DataInputStream d = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
      byte[] magic = d.readNBytes(4);
      if (!"RTT1".equals(new String(magic, StandardCharsets.US_ASCII))) throw new IOException(file + ": not a tensor file");
      int dtype = d.readByte();
      long[] shape = new long[d.readInt()];
      long n = 1;
      for (int i = 0; i < shape.length; i++) n *= shape[i] = d.readLong();
      if (dtype == STRING) {
        List<byte[]> s = new java.util.ArrayList<>();
        for (long i = 0; i < n; i++) s.add(d.readNBytes(d.readInt()));
        return new Value(dtype, shape, null, s);
      }
      double[] v = new double[(int) n];
      for (int i = 0; i < n; i++) {
        v[i] = switch (dtype) {
          case FLOAT32 -> d.readFloat();
          case INT32 -> d.readInt();
          case INT64 -> d.readLong();
          default -> throw new IOException(file + ": dtype " + dtype);
        };
      }
      return new Value(dtype, shape, v, null);
    }
  }
}
