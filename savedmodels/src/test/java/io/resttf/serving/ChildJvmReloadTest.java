package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.model.RestModel;
import io.resttf.serving.RestClassifier.Classification;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An export reloaded in a separate JVM with plain {@code SavedModelBundle.load(dir, "serve")} gives the
 * in-process RestModel's outputs for serving_default and features, and this process's classify_images
 * answers.
 */
class ChildJvmReloadTest {

  @Test
  void separateJvmReloadMatchesInProcessModel(@TempDir Path tmp) throws Exception {
    String c = TestModels.V2;
    Path versionDir = TestModels.exported(c).versionDir();
    // a batch with two different sizes needs two runs; use input_1 (1x3x160x96, non-square)
    HostTensor x = Layouts.nchwToNhwc(TestModels.npy(c, "input_1.npy"));
    Path xFile = tmp.resolve("x.npy");
    Npy.write(xFile, x);
    Path img1 = tmp.resolve("a.jpg"), img2 = tmp.resolve("b.png");
    Files.write(img1, TestModels.resource("pil/odd_333x517.jpg"));
    Files.write(img2, TestModels.resource("pil/rgba_97x150.png"));
    Path out = Files.createDirectories(tmp.resolve("out"));

    String log = ChildJvm.run(ReloadMain.class, versionDir.toString(), out.toString(), xFile.toString(),
        img1.toString(), img2.toString());
    assertTrue(log.contains("RELOAD OK"), log);

    RestModel.Outputs ref;
    try (RestModel m = RestModel.create(TestModels.config(c))) {
      m.load(TestModels.weights(c));
      ref = m.forward(x);
    }
    assertClose(ref.logits(), Npy.read(out.resolve("serving_default.logits.npy")), 1e-5, "logits");
    for (int s = 0; s < 4; s++) {
      assertClose(ref.stages().get(s), Npy.read(out.resolve("features.stage" + (s + 1) + ".npy")), 1e-5, "stage" + (s + 1));
    }
    assertArrayEquals(softmax(ref.logits().toFloats()), Npy.read(out.resolve("serving_default.probabilities.npy")).toFloats(), 1e-6f);

    try (RestClassifier here = RestClassifier.open(versionDir)) {
      List<Classification> cls = here.classifyPaths(List.of(img1, img2));
      HostTensor probs = Npy.read(out.resolve("classify_images.probabilities.npy"));
      assertArrayEquals(new long[] {2, 10}, probs.shape());
      // the in-process RestModel on the graph's preprocessing of the same files
      HostTensor pixels = here.preprocess(List.of(RestClassifier.ImageInput.of(img1), RestClassifier.ImageInput.of(img2)));
      try (RestModel m = RestModel.create(TestModels.config(c))) {
        m.load(TestModels.weights(c));
        float[] l = m.forward(pixels).logits().toFloats();
        for (int i = 0; i < 2; i++) {
          float[] row = java.util.Arrays.copyOfRange(l, i * 10, i * 10 + 10);
          float[] got = java.util.Arrays.copyOfRange(probs.toFloats(), i * 10, i * 10 + 10);
          assertArrayEquals(softmax(row), got, 1e-6f, "classify_images image " + i);
        }
      }
      long[] idx = Npy.read(out.resolve("classify_images.top_k_indices.npy")).toLongs();
      List<String> labelLines = Files.readAllLines(out.resolve("classify_images.top_k_labels.txt"));
      for (int i = 0; i < 2; i++) {
        float[] row = java.util.Arrays.copyOfRange(probs.toFloats(), i * 10, i * 10 + 10);
        assertArrayEquals(cls.get(i).probabilities(), row, 1e-6f);
        String[] labels = labelLines.get(i).split("\t");
        for (int j = 0; j < 5; j++) {
          assertEquals(cls.get(i).top().get(j).index(), idx[i * 5 + j]);
          assertEquals(cls.get(i).top().get(j).label(), labels[j]);
          assertEquals("class_" + idx[i * 5 + j], labels[j]);
        }
      }
    }
  }

  private static float[] softmax(float[] logits) {
    double max = Double.NEGATIVE_INFINITY, z = 0;
    for (float l : logits) max = Math.max(max, l);
    for (float l : logits) z += Math.exp(l - max);
    float[] out = new float[logits.length];
    for (int j = 0; j < logits.length; j++) out[j] = (float) (Math.exp(logits[j] - max) / z);
    return out;
  }

  private static void assertClose(HostTensor expected, HostTensor actual, double tol, String what) {
    assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
    double err = TestModels.maxAbsDiff(expected.toFloats(), actual.toFloats());
    double scale = Math.max(1, TestModels.maxAbs(expected.toFloats()));
    assertTrue(err / scale <= tol, what + ": error " + err + " (scale " + scale + ")");
  }
}
