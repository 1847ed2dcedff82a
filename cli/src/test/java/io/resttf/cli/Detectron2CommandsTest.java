package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.tensorfile.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line on detectron2 files: a model-zoo .pkl, a convert_to_d2 classification file, inspect. */
class Detectron2CommandsTest {
  static final Path D2 = Path.of("../converters/src/test/resources/io/resttf/d2/parity");

  @Test
  void forwardOnAModelZooPickleWritesTheNormedBackboneOutputs(@TempDir Path tmp) {
    Path dir = D2.resolve("rest_small-narrow-d2");
    CliRun r = CliRun.of("forward", "--weights", dir.resolve("model_final.pkl").toString(), "--input",
        dir.resolve("input_0.npy").toString(), "--layout", "nchw", "--out", tmp.resolve("f").toString()).ok();
    assertTrue(r.out().contains("detectron2 backbone: rest_small (widths / 8) (ResT d2 backbone: norm1..3 in the trunk"), r.out());
    assertTrue(r.out().contains("ignored:     3 keys outside the backbone"), r.out());
    assertFalse(r.out().contains("fresh:"), r.out());
    for (int s = 1; s <= 4; s++) {
      ForwardCommandTest.assertClose(Npy.read(dir.resolve("stage" + s + "_0.npy")), Npy.read(tmp.resolve("f/stage" + s + ".npy")),
          5e-4, "stage" + s);
    }
    assertFalse(Files.exists(tmp.resolve("f/logits.npy")));
  }

  @Test
  void aConvertedClassificationCheckpointNamesTheFreshNorms(@TempDir Path tmp) {
    Path dir = D2.resolve("restv2_tiny-narrow-d2");
    CliRun r = CliRun.of("forward", "--weights", dir.resolve("converted_from_classification.pth").toString(), "--input",
        dir.resolve("input_0.npy").toString(), "--layout", "nchw", "--out", tmp.resolve("f").toString()).ok();
    assertTrue(r.out().contains("fresh:       8 output-norm parameters not in the file, initialised as detectron2 does"
        + " (weight 1, bias 0): [backbone.bottom_up.norm_1.0, backbone.bottom_up.norm_2.0, backbone.bottom_up.norm_3.0,"
        + " backbone.bottom_up.norm_4.0]"), r.out());
    for (int s = 1; s <= 4; s++) {
      ForwardCommandTest.assertClose(Npy.read(dir.resolve("stage" + s + "_fresh_0.npy")),
          Npy.read(tmp.resolve("f/stage" + s + ".npy")), 1e-4, "stage" + s);
    }
  }

  @Test
  void inspectReadsThePickleAndSaysWhatItFound() {
    CliRun r = CliRun.of("inspect", D2.resolve("rest_small-narrow-d2/model_final_p4.pkl").toString()).ok();
    assertTrue(r.out().contains("format:   pickle of numpy arrays (protocol 4, detectron2 .pkl)"), r.out());
    assertTrue(r.out().contains("wrapper:  ['model']"), r.out());
    assertTrue(r.out().contains("model:    detectron2 backbone: rest_small (widths / 8)"), r.out());
    assertTrue(r.out().contains("3 other keys (detector heads, FPN, classification head) ignored"), r.out());
  }

  @Test
  void aVariantWithDetectron2WeightsIsRefused(@TempDir Path tmp) {
    Path dir = D2.resolve("restv2_tiny-narrow-d2");
    CliRun.of("forward", "--variant", "restv2_tiny", "--weights", dir.resolve("model_final.pth").toString(), "--input",
        dir.resolve("input_0.npy").toString(), "--layout", "nchw", "--out", tmp.resolve("o").toString())
        .badInput("model_final.pth", "detectron2 checkpoint", "leave out --variant");
    assertFalse(Files.exists(tmp.resolve("o")));
  }
}
