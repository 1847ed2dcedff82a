package io.resttf.serving;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.tensor.HostTensor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;

/**
 * Run in a separate JVM by {@link ChildJvmReloadTest}: loads an export with nothing but
 * {@code SavedModelBundle.load(dir, "serve")} and its signatures (no rest-tf code on the path that
 * matters) and writes every signature's outputs as .npy (labels as text).
 *
 * <p>Arguments: versionDir outDir pixelValues.npy image...
 */
public final class ReloadMain {
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Path out = Path.of(args[1]);
    HostTensor x = Npy.read(Path.of(args[2]));
    List<byte[]> images = new ArrayList<>();
    for (int i = 3; i < args.length; i++) images.add(Files.readAllBytes(Path.of(args[i])));

    try (SavedModelBundle b = SavedModelBundle.load(dir.toString(), "serve");
        TFloat32 pixels = TFloat32.tensorOf(Shape.of(x.shape()), DataBuffers.of(x.toFloats(), true, false));
        TString bytes = TString.tensorOfBytes(NdArrays.vectorOfObjects(images.toArray(new byte[0][])))) {
      try (Result r = b.function("serving_default").call(Map.of("pixel_values", pixels))) {
        write(out, "serving_default.logits", r);
        write(out, "serving_default.probabilities", r);
      }
      try (Result r = b.function("features").call(Map.of("pixel_values", pixels))) {
        for (int s = 1; s <= 4; s++) write(out, "features.stage" + s, r);
      }
      try (Result r = b.function("classify_images").call(Map.of("image_bytes", bytes))) {
        write(out, "classify_images.probabilities", r);
        write(out, "classify_images.top_k_probabilities", r);
        TInt32 idx = (TInt32) r.get("top_k_indices").orElseThrow();
        long[] shape = idx.shape().asArray();
        long[] v = new long[(int) idx.size()];
        StringBuilder labels = new StringBuilder();
        TString lab = (TString) r.get("top_k_labels").orElseThrow();
        for (int i = 0; i < shape[0]; i++) {
          for (int j = 0; j < shape[1]; j++) {
            v[(int) (i * shape[1] + j)] = idx.getInt(i, j);
            labels.append(lab.getObject(i, j)).append(j + 1 < shape[1] ? "\t" : "\n");
          }
        }
        Npy.write(out.resolve("classify_images.top_k_indices.npy"), HostTensor.ofLongs("I64", shape, v));
        Files.writeString(out.resolve("classify_images.top_k_labels.txt"), labels, StandardCharsets.UTF_8);
      }
    }
    System.out.println("RELOAD OK");
  }

  private static void write(Path out, String name, Result r) {
    String key = name.substring(name.indexOf('.') + 1);
    Tensor t = r.get(key).orElseThrow(() -> new IllegalStateException("no output " + key));
    Npy.write(out.resolve(name + ".npy"), io.resttf.tensor.TfTensors.toHost((TFloat32) t));
  }
}
