package io.resttf.convert;

import static io.resttf.convert.ParityTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.model.RestConfig;
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
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every design-space option reproduces the float64 reference of bench/pytorch/design_reference.py (the
 * official modules, each option swapped in as its source defines it): logits on two inputs, one whose stage
 * grids are no multiple of the window cases' windows (padded and cropped), and the four stage outputs on the
 * other. The config is read from the case's config.json with the option keys, the weights strictly from its
 * state_dict: every key the option adds or removes must be exactly there.
 */
@Tag("parity")
class DesignSpaceParityTest {
  static final Path ROOT = Path.of("src/test/resources/io/resttf/design/parity");
  static final double TOLERANCE = 1e-4;

  static List<String> cases() {
    return ParityTest.caseFolders(ROOT, "weights.pth", 16);
  }


  @ParameterizedTest
  @MethodSource("cases")
  void matchesFloat64Reference(String caseName) {
    Path dir = ROOT.resolve(caseName);
    RestConfig config = RestConfig.read(dir.resolve("config.json"));
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(dir.resolve("weights.pth"), false, null);
    try (RestModel model = RestModel.create(config)) {
      RestModel.LoadReport report = model.load(w.stateDict());
      assertTrue(report.fresh().isEmpty(), "every parameter comes from the checkpoint: " + report.fresh());
      for (int k = 0; k < 2; k++) {
        HostTensor x = Layouts.nchwToNhwc(Npy.read(ROOT.resolve("input_" + k + ".npy")));
        RestModel.Outputs out = model.forward(x);
        String what = caseName + " input " + k + " " + x.shapeString();
        assertClose(Npy.read(dir.resolve("logits_" + k + ".npy")), out.logits(), TOLERANCE, false, what + " logits");
        if (k == 0) {
          for (int s = 0; s < 4; s++) {
            assertClose(Npy.read(dir.resolve("stage" + (s + 1) + "_0.npy")), out.stages().get(s), TOLERANCE, true,
                what + " stage" + (s + 1));
          }
        }
      }
      assertEquals(w.stateDict().keySet().stream().filter(key -> !key.endsWith("num_batches_tracked")).sorted().toList(),
          model.stateDict().keySet().stream().sorted().toList(), "the model's keys are the reference's");
    }
  }

  /** Options with a trace in the keys are detected from the weights; the others ask for --config. */
  @ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"v1-pos-gl", "v1-pos-none-no-transform", "v2-target-k",
      "v2-transform", "v2-convnet", "v2-convnet-x", "v2-cwin", "v2-upsample-none", "v2-reduction-max-pos-gl",
      "v1-reduction-avg-no-transform", "v2-upsample-nearest", "v2-upsample-bilinear"})
  void detectsWhatTheKeysShow(String caseName) {
    Path dir = ROOT.resolve(caseName);
    RestConfig want = RestConfig.read(dir.resolve("config.json"));
    var sd = CheckpointFiles.read(dir.resolve("weights.pth"), false, null).stateDict();
    java.util.Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
    sd.forEach((k, v) -> shapes.put(k, v.shape()));
    // the narrow cases' depths match no released variant, so heads cannot be detected: the rest is given
    RestConfig plain = RestConfig.official(want.family(), want.embedDims(), want.numHeads(), want.depths(),
        want.srRatios(), want.mlpRatios(), want.numClasses(), want.inChans(), want.qkvBias(), want.applyTransform(),
        want.layerNormEps(), 0);
    if (want.reduction() != io.resttf.model.DesignSpace.Reduction.DWCONV) {
      String m = org.junit.jupiter.api.Assertions.assertThrows(io.resttf.tensor.BadInputException.class,
          () -> ConfigDetector.designOptions(shapes, plain)).getMessage();
      assertTrue(m.contains("pooling") && m.contains("--config"), m);
      return;
    }
    if (want.upsample() == io.resttf.model.DesignSpace.Upsample.NEAREST
        || want.upsample() == io.resttf.model.DesignSpace.Upsample.BILINEAR) {
      String m = org.junit.jupiter.api.Assertions.assertThrows(io.resttf.tensor.BadInputException.class,
          () -> ConfigDetector.designOptions(shapes, plain)).getMessage();
      assertTrue(m.contains("nearest or bilinear") && m.contains("--config"), m);
      return;
    }
    RestConfig got = ConfigDetector.designOptions(shapes, plain);
    assertEquals(want.positionEncoding(), got.positionEncoding());
    assertEquals(want.upsample(), got.upsample());
    assertEquals(want.attention(), got.attention());
    assertEquals(want.windowStyle() == io.resttf.model.DesignSpace.WindowStyle.CWIN, got.windowStyle()
        == io.resttf.model.DesignSpace.WindowStyle.CWIN);
    if (!want.attention()) assertEquals(want.upsampleTarget(), got.upsampleTarget());
  }
}
