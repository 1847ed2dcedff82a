package io.resttf.serving;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import java.nio.file.Path;
import java.util.Map;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Run in a separate JVM by {@link DenseExportTest}: loads a dense export with nothing but
 * {@code SavedModelBundle.load(dir, "serve")} and writes its signatures' outputs as .npy.
 *
 * <p>Arguments: versionDir outDir pixelValues.npy
 */
public final class ReloadDenseMain {
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Path out = Path.of(args[1]);
    HostTensor x = Npy.read(Path.of(args[2]));
    try (SavedModelBundle b = SavedModelBundle.load(dir.toString(), "serve");
        TFloat32 pixels = TFloat32.tensorOf(Shape.of(x.shape()), DataBuffers.of(x.toFloats(), true, false))) {
      if (b.signatures().stream().anyMatch(s -> s.key().equals("serving_default"))) {
        try (Result r = b.function("serving_default").call(Map.of("pixel_values", pixels))) {
          Npy.write(out.resolve("seg_logits.npy"), TfTensors.toHost((TFloat32) r.get("seg_logits").orElseThrow()));
          TInt32 map = (TInt32) r.get("class_map").orElseThrow();
          long[] shape = map.shape().asArray();
          long[] v = new long[(int) map.size()];
          int[] i = {0};
          map.scalars().forEach(s -> v[i[0]++] = s.getInt());
          Npy.write(out.resolve("class_map.npy"), HostTensor.ofLongs("I64", shape, v));
        }
      }
      try (Result r = b.function("features").call(Map.of("pixel_values", pixels))) {
        for (int s = 1; s <= 4; s++) {
          Npy.write(out.resolve("stage" + s + ".npy"), TfTensors.toHost((TFloat32) r.get("stage" + s).orElseThrow()));
        }
      }
    }
    System.out.println("RELOAD OK");
  }
}
