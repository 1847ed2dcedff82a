import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.TensorFlow;
import org.tensorflow.ndarray.NdArray;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TString;

/**
 * Loads a SavedModel with plain {@code SavedModelBundle.load} in whatever TensorFlow Java runtime it is
 * compiled against and run with (TF Java 0.4 and later: TF 2.7 and later), and runs every signature whose
 * inputs all have a file {@code IN/SIGNATURE.INPUT.t}, writing each output to {@code OUT/SIGNATURE.OUTPUT.t}.
 *
 * <p>Compiled and run by {@code CrossRuntimeTest} in a separate JVM per runtime, against only that runtime's
 * jars. It uses only the API the runtimes share: {@code var} holds what {@code Runner.run()} returns (a
 * {@code List<Tensor>} before TF Java 1.0, a {@code Result} since); proto classes are never named (their
 * package moved). Tensor files: "RTT1", dtype byte (0 float32, 1 int32, 2 int64, 3 string), rank, dims
 * (longs), then the values big-endian (strings: int length + bytes).
 *
 * <p>Usage: {@code CrossRuntimeRunner EXPORT_DIR IN_DIR OUT_DIR}. Prints the runtime's version and
 * one line per signature run; exit 0 only when every signature with inputs ran.
 */
public final class CrossRuntimeRunner {
  public static void main(String[] args) throws Exception {
    Path in = Path.of(args[1]), out = Path.of(args[2]);
    Files.createDirectories(out);
    System.out.println("tensorflow " + TensorFlow.version());
    try (SavedModelBundle bundle = SavedModelBundle.load(args[0], "serve")) {
      var defs = new TreeMap<>(bundle.metaGraphDef().getSignatureDefMap());
      int ran = 0;
      for (var sig : defs.entrySet()) {
        Map<String, String> inputs = new TreeMap<>(), outputs = new TreeMap<>();
        sig.getValue().getInputsMap().forEach((k, v) -> inputs.put(k, v.getName()));
        sig.getValue().getOutputsMap().forEach((k, v) -> outputs.put(k, v.getName()));
        boolean all = true;
        for (String k : inputs.keySet()) all &= Files.isRegularFile(in.resolve(sig.getKey() + "." + k + ".t"));
        if (!all) continue;
        List<Tensor> fed = new ArrayList<>();
        try {
          Session.Runner runner = bundle.session().runner();
          for (var e : inputs.entrySet()) {
            Tensor t = read(in.resolve(sig.getKey() + "." + e.getKey() + ".t"));
            fed.add(t);
            runner.feed(e.getValue(), t);
          }
          List<String> keys = new ArrayList<>(outputs.keySet());
          for (String k : keys) runner.fetch(outputs.get(k));
          var result = runner.run();
          try {
            for (int i = 0; i < keys.size(); i++) {
              write(result.get(i), out.resolve(sig.getKey() + "." + keys.get(i) + ".t"));
            }
          } finally {
            if (result instanceof AutoCloseable) {
              ((AutoCloseable) result).close();
            } else {
              for (Object o : (Iterable<?>) result) ((Tensor) o).close();
            }
          }
        } finally {
          for (Tensor t : fed) t.close();
        }
        System.out.println("ran " + sig.getKey() + " " + sig.getValue().getMethodName() + " -> " + outputs.keySet());
        ran++;
      }
      System.out.println("signatures run: " + ran);
    }
  }

  static Tensor read(Path file) throws IOException {
    try (DataInputStream d = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
      byte[] magic = new byte[4];
      d.readFully(magic);
      if (!"RTT1".equals(new String(magic, "US-ASCII"))) throw new IOException(file + ": not a tensor file");
      int type = d.readByte();
      long[] dims = new long[d.readInt()];
      long n = 1;
      for (int i = 0; i < dims.length; i++) n *= dims[i] = d.readLong();
      Shape shape = Shape.of(dims);
      switch (type) {
        case 0: {
          float[] v = new float[(int) n];
          for (int i = 0; i < n; i++) v[i] = d.readFloat();
          return TFloat32.tensorOf(shape, DataBuffers.of(v, true, false));
        }
        case 1: {
          int[] v = new int[(int) n];
          for (int i = 0; i < n; i++) v[i] = d.readInt();
          return TInt32.tensorOf(shape, DataBuffers.of(v, true, false));
        }
        case 3: {
          NdArray<byte[]> v = NdArrays.ofObjects(byte[].class, shape);
          long[] at = new long[dims.length];
          for (long i = 0; i < n; i++) {
            byte[] b = new byte[d.readInt()];
            d.readFully(b);
            long r = i;
            for (int k = dims.length - 1; k >= 0; k--) {
              at[k] = r % dims[k];
              r /= dims[k];
            }
            v.setObject(b, at);
          }
          return TString.tensorOfBytes(v);
        }
        default:
          throw new IOException(file + ": unsupported input dtype " + type);
      }
    }
  }

  static void write(Tensor t, Path file) throws IOException {
    try (DataOutputStream d = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file)))) {
      d.writeBytes("RTT1");
      int type = t instanceof TFloat32 ? 0 : t instanceof TInt32 ? 1 : t instanceof TInt64 ? 2 : t instanceof TString ? 3 : -1;
      if (type < 0) throw new IOException("unsupported output type " + t.getClass().getName() + " for " + file);
      d.writeByte(type);
      long[] dims = t.shape().asArray();
      d.writeInt(dims.length);
      for (long x : dims) d.writeLong(x);
      IOException[] err = new IOException[1];
      if (type == 0) {
        ((TFloat32) t).scalars().forEach(s -> put(err, () -> d.writeFloat(s.getFloat())));
      } else if (type == 1) {
        ((TInt32) t).scalars().forEach(s -> put(err, () -> d.writeInt(s.getInt())));
      } else if (type == 2) {
        ((TInt64) t).scalars().forEach(s -> put(err, () -> d.writeLong(s.getLong())));
      } else {
        ((TString) t).asBytes().scalars().forEach(s -> put(err, () -> {
          byte[] b = s.getObject();
          d.writeInt(b.length);
          d.write(b);
        }));
      }
      if (err[0] != null) throw err[0];
    }
  }

  interface IoAction {
    void run() throws IOException;
  }

  static void put(IOException[] err, IoAction a) {
    if (err[0] != null) return;
    try {
      a.run();
    } catch (IOException e) {
      err[0] = e;
    }
  }
}
