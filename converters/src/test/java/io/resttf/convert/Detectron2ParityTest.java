package io.resttf.convert;

import static io.resttf.convert.ParityTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.model.BackboneModel;
import io.resttf.model.BackboneStyle;
import io.resttf.model.Family;
import io.resttf.model.RestModel;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The detectron2 backbones (official object_detection/restv2/{restv2,rest}.py) reproduce the float64
 * reference of bench/pytorch/d2_reference.py from every detectron2 file form: a detector's training
 * checkpoint (.pth, with FPN and head keys to ignore), detectron2's pickle of numpy arrays (.pkl,
 * protocols 2 and 4), and a classification checkpoint converted by convert_to_d2.py (output norms absent,
 * initialised as detectron2 does).
 */
@Tag("parity")
class Detectron2ParityTest {
  static final Path ROOT = Path.of("src/test/resources/io/resttf/d2/parity");

  static List<Arguments> files() {
    List<Arguments> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(ROOT)) {
      for (Path dir : s.filter(Files::isDirectory).sorted().toList()) {
        for (String f : List.of("model_final.pth", "model_final.pkl", "model_final_p4.pkl", "converted_from_classification.pth")) {
          if (Files.exists(dir.resolve(f))) out.add(Arguments.of(dir.getFileName().toString(), f));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    assertTrue(out.size() >= 6, "detectron2 parity files missing under " + ROOT);
    return out;
  }

  @ParameterizedTest
  @MethodSource("files")
  void backboneOutputsMatchFloat64Reference(String caseName, String file) {
    Path dir = ROOT.resolve(caseName);
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(dir.resolve(file), false, null);
    ConfigDetector.BackboneDetection d = ConfigDetector.detectDetectron2(w.stateDict());
    boolean converted = file.startsWith("converted");
    assertEquals(d.backbone().config().family() == Family.V1 ? BackboneStyle.D2_V1 : BackboneStyle.D2_V2, d.style());
    int expectMissing = converted ? (d.style() == BackboneStyle.D2_V1 ? 3 : 4) : 0;
    assertEquals(expectMissing, d.missingNorms().size(), "missing output norms: " + d.missingNorms());
    double tol = d.style() == BackboneStyle.D2_V1 ? ParityTest.V1_TOLERANCE : ParityTest.V2_TOLERANCE;
    try (BackboneModel m = BackboneModel.create(d.backbone().config(), d.style(), d.keyPrefix(), null)) {
      RestModel.LoadReport report = m.load(w.stateDict(), d.loadOptions(), 0);
      assertEquals(2 * expectMissing, report.fresh().size(), "fresh: " + report.fresh());
      HostTensor x = Layouts.nchwToNhwc(Npy.read(dir.resolve("input_0.npy")));
      List<HostTensor> out = m.forward(x);
      for (int s = 0; s < 4; s++) {
        String ref = "stage" + (s + 1) + (converted ? "_fresh" : "") + "_0.npy";
        assertClose(Npy.read(dir.resolve(ref)), out.get(s), tol, true, caseName + "/" + file + " stage" + (s + 1));
      }
    }
  }
}
