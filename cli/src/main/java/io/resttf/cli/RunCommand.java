package io.resttf.cli;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TString;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rest-tf run}: any signature of a SavedModel on .npy inputs. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a signature of a SavedModel on .npy inputs and writes one .npy per output into DIR",
      "(string outputs as NAME.txt, one value per line)."
    })
final class RunCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin SavedModelOption model;

  @Option(names = "--signature", paramLabel = "NAME", defaultValue = "serving_default", description = "default: ${DEFAULT-VALUE}")
  String signature;

  @Option(names = "--input", required = true, paramLabel = "NAME=FILE.npy", description = "an input of the signature")
  Map<String, Path> inputs;

  @Mixin Outputs.DirOption outDir;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    Path dir = model.versionDir();
    outDir.check();
    try (SavedModelBundle bundle = SavedModelInspector.load(dir)) {
      SessionFunction fn;
      try {
        fn = bundle.function(signature);
      } catch (IllegalArgumentException e) {
        throw new BadInputException(dir + ": no signature \"" + signature + "\"; it has " + bundle.signatures().stream().map(Signature::key).toList());
      }
      Signature sig = fn.signature();
      for (String name : inputs.keySet()) {
        if (!sig.inputNames().contains(name)) {
          throw new BadInputException("signature " + signature + " has no input \"" + name + "\"; inputs: " + sig.inputNames());
        }
      }
      for (String name : sig.inputNames()) {
        if (!inputs.containsKey(name)) {
          throw new BadInputException("signature " + signature + " needs input \"" + name + "\" (--input " + name + "=FILE.npy)");
        }
      }
      Map<String, Tensor> feeds = new LinkedHashMap<>();
      try {
        for (Map.Entry<String, Path> e : inputs.entrySet()) {
          Signature.TensorDescription expected = sig.getInputs().get(e.getKey());
          HostTensor value = Npy.read(e.getValue());
          checkInput(e.getKey(), e.getValue(), value, expected);
          feeds.put(e.getKey(), toTensor(value, expected.dataType, e.getValue()));
        }
        try (Result r = fn.call(feeds)) {
          Outputs files = outDir.open(out);
          List<String> names = new ArrayList<>(r.keySet());
          for (String name : names) {
            Tensor t = r.get(name).orElseThrow();
            if (t instanceof TString s) {
              List<String> lines = new ArrayList<>();
              s.scalars().forEach(x -> lines.add(x.getObject()));
              try {
                Files.write(files.dir().resolve(name + ".txt"), lines);
              } catch (IOException ex) {
                throw new BadInputException(files.dir() + ": cannot write (" + io.resttf.util.ErrorText.reason(ex) + ")");
              }
              out.println(name + ".txt  " + t.shape());
            } else {
              files.write(name, fromTensor(t));
            }
          }
          files.warnNonFinite(spec.commandLine().getErr());
        }
      } catch (org.tensorflow.exceptions.TensorFlowException | IllegalArgumentException e) {
        throw new BadInputException("signature " + signature + " refused the inputs: "
            + io.resttf.util.ErrorText.tensorFlow(e.getMessage()), e);
      } finally {
        feeds.values().forEach(Tensor::close);
      }
    }
    return Main.OK;
  }

  /**
   * Refuses an input whose rank, known dimensions or kind (floating point vs integer) do not fit the
   * signature, naming the input and what it expects (TF's own errors name neither).
   */
  static void checkInput(String name, Path file, HostTensor value, Signature.TensorDescription expected) {
    String want = describe(expected);
    boolean floatInput = expected.dataType == DataType.DT_FLOAT || expected.dataType == DataType.DT_DOUBLE;
    boolean intInput = expected.dataType == DataType.DT_INT32 || expected.dataType == DataType.DT_INT64;
    if ((floatInput && !value.isFloating()) || (intInput && value.isFloating())) {
      throw new BadInputException("--input " + name + "=" + file + ": dtype " + value.dtype() + " does not fit input "
          + name + ", which expects " + want);
    }
    if (expected.shape == null || expected.shape.isUnknown()) return;
    long[] dims = expected.shape.asArray();
    long[] got = value.shape();
    boolean fits = dims.length == got.length;
    for (int i = 0; fits && i < dims.length; i++) fits = dims[i] < 0 || dims[i] == got[i];
    if (!fits) {
      throw new BadInputException("--input " + name + "=" + file + ": shape " + value.shapeString() + " does not fit input "
          + name + ", which expects " + want + " (-1: any size)");
    }
  }

  /** "float32 [-1, 224, 224, 3]". */
  static String describe(Signature.TensorDescription t) {
    String type = switch (t.dataType) {
      case DT_FLOAT -> "float32";
      case DT_DOUBLE -> "float64";
      case DT_INT32 -> "int32";
      case DT_INT64 -> "int64";
      case DT_STRING -> "string";
      default -> t.dataType.name().replace("DT_", "").toLowerCase(java.util.Locale.ROOT);
    };
    if (t.shape == null || t.shape.isUnknown()) return type + " of any shape";
    return type + " " + java.util.Arrays.toString(t.shape.asArray());
  }

  static Tensor toTensor(HostTensor h, DataType type, Path file) {
    Shape shape = Shape.of(h.shape());
    switch (type) {
      case DT_FLOAT:
        return TFloat32.tensorOf(shape, DataBuffers.of(h.toFloats(), true, false));
      case DT_DOUBLE:
        return TFloat64.tensorOf(shape, DataBuffers.of(h.toDoubles(), true, false));
      case DT_INT64:
        return TInt64.tensorOf(shape, DataBuffers.of(h.toLongs(), true, false));
      case DT_INT32: {
        long[] l = h.toLongs();
        int[] v = new int[l.length];
        for (int i = 0; i < l.length; i++) v[i] = Math.toIntExact(l[i]);
        return TInt32.tensorOf(shape, DataBuffers.of(v, true, false));
      }
      default:
        throw new BadInputException(file + ": inputs of type " + type + " cannot be given as .npy (use classify for images)");
    }
  }

  static HostTensor fromTensor(Tensor t) {
    long[] shape = t.shape().asArray();
    int n = Math.toIntExact(t.shape().size());
    if (t instanceof TFloat32 f) {
      float[] v = new float[n];
      f.copyTo(DataBuffers.of(v, false, false));
      return HostTensor.ofFloats(shape, v);
    }
    if (t instanceof TFloat64 d) {
      double[] v = new double[n];
      d.copyTo(DataBuffers.of(v, false, false));
      return HostTensor.ofDoubles(shape, v);
    }
    if (t instanceof TInt64 l) {
      long[] v = new long[n];
      l.copyTo(DataBuffers.of(v, false, false));
      return HostTensor.ofLongs("I64", shape, v);
    }
    if (t instanceof TInt32 i) {
      int[] v = new int[n];
      i.copyTo(DataBuffers.of(v, false, false));
      long[] l = new long[n];
      for (int k = 0; k < n; k++) l[k] = v[k];
      return HostTensor.ofLongs("I64", shape, l);
    }
    throw new IllegalStateException("unsupported output type " + t.dataType());
  }
}
