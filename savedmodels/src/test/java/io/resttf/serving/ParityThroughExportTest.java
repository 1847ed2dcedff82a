package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The official references survive export: serving_default and features of the exported model reproduce them. */
@Tag("parity")
class ParityThroughExportTest {

  @ParameterizedTest(name = "{0} input {1}")
  @CsvSource({
    "restv2_tiny-narrow, 0, 1e-4",
    "restv2_tiny-narrow, 1, 1e-4",
    "rest_lite-narrow, 0, 5e-4",
    "rest_lite-narrow, 1, 5e-4",
  })
  void exportedModelReproducesTheReferences(String caseName, int k, double tol) {
    SavedModelExporter.Result export = TestModels.exported(caseName);
    HostTensor input = Layouts.nchwToNhwc(TestModels.npy(caseName, "input_" + k + ".npy"));
    HostTensor refLogits = TestModels.npy(caseName, "logits_" + k + ".npy");
    try (RestClassifier c = RestClassifier.open(export.versionDir())) {
      RestClassifier.Outputs out = c.predict(input);
      assertArrayEquals(refLogits.shape(), out.logits().shape());
      double err = TestModels.maxAbsDiff(refLogits.toFloats(), out.logits().toFloats());
      assertTrue(err <= tol, caseName + " logits max abs error " + err + " > " + tol);
      // probabilities are the softmax of those logits
      float[] p = out.probabilities().toFloats();
      int classes = (int) refLogits.shape()[1];
      for (int b = 0; b < refLogits.shape()[0]; b++) {
        double sum = 0;
        for (int j = 0; j < classes; j++) sum += p[b * classes + j];
        assertEquals(1.0, sum, 1e-5);
      }

      List<HostTensor> stages = c.features(input);
      assertEquals(4, stages.size());
      for (int s = 0; s < 4; s++) {
        HostTensor ref = TestModels.npy(caseName, "stage" + (s + 1) + "_" + k + ".npy");
        assertArrayEquals(ref.shape(), stages.get(s).shape(), "stage" + (s + 1) + " shape");
        double scale = Math.max(1, TestModels.maxAbs(ref.toFloats()));
        double rel = TestModels.maxAbsDiff(ref.toFloats(), stages.get(s).toFloats()) / scale;
        assertTrue(rel <= tol, caseName + " stage" + (s + 1) + " relative error " + rel + " > " + tol);
      }
    }
  }
}
