package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.tensor.HostTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line on an official-format mmseg checkpoint (ResTv2 + UPerNet): forward, inspect, bad input. */
class SegmentationCommandsTest {
  static final Path CASE = Path.of("../converters/src/test/resources/io/resttf/seg/parity/restv2_tiny-narrow-upernet");

  @Test
  void forwardWritesSegLogitsAndNormedStagesMatchingTheReference(@TempDir Path tmp) {
    Path out = tmp.resolve("seg");
    CliRun r = CliRun.of("forward", "--weights", CASE.resolve("weights.pth").toString(),
        "--input", CASE.resolve("input_1.npy").toString(), "--layout", "nchw", "--out", out.toString()).ok();
    assertTrue(r.out().contains("segmentation: restv2_tiny (widths / 8) backbone + UPerNet (channels 64, 10 classes"), r.out());
    HostTensor seg = Npy.read(out.resolve("seg_logits.npy"));
    assertArrayEquals(new long[] {2, 224, 160, 10}, seg.shape());
    ForwardCommandTest.assertClose(Npy.read(CASE.resolve("seg_logits_1.npy")), seg, 1e-4, "seg_logits");
    for (int s = 1; s <= 4; s++) {
      ForwardCommandTest.assertClose(Npy.read(CASE.resolve("stage" + s + "_1.npy")), Npy.read(out.resolve("stage" + s + ".npy")),
          1e-4, "stage" + s);
    }
    ForwardCommandTest.assertClose(Npy.read(CASE.resolve("aux_logits_1.npy")), Npy.read(out.resolve("aux_logits.npy")), 1e-4, "aux");
    assertFalse(Files.exists(out.resolve("logits.npy")));
  }

  @Test
  void exportWritesASegmentationSavedModelThatRunServesAndClassifyRefuses(@TempDir Path tmp) throws Exception {
    Path base = tmp.resolve("models");
    CliRun r = CliRun.of("export", "--checkpoint", CASE.resolve("weights.pth").toString(), "--name", "seg",
        "--base", base.toString()).ok();
    assertTrue(r.out().contains("signatures: serving_default, features"), r.out());
    Path x = tmp.resolve("x.npy");
    Npy.write(x, io.resttf.tensor.Layouts.nchwToNhwc(Npy.read(CASE.resolve("input_0.npy"))));
    CliRun.of("run", "--model", base.resolve("seg").toString(), "--input", "pixel_values=" + x, "--out",
        tmp.resolve("o").toString()).ok();
    ForwardCommandTest.assertClose(Npy.read(CASE.resolve("seg_logits_0.npy")), Npy.read(tmp.resolve("o/seg_logits.npy")),
        1e-4, "seg_logits through run");
    assertArrayEquals(new long[] {1, 128, 160}, Npy.read(tmp.resolve("o/class_map.npy")).shape());
    CliRun.of("inspect", base.resolve("seg").toString()).ok();
    CliRun.of("classify", "--model", base.resolve("seg").toString(), x.toString())
        .badInput("segmentation export, not a classifier");
    CliRun.of("export", "--checkpoint", CASE.resolve("weights.pth").toString(), "--name", "seg2", "--base", base.toString(),
        "--image-size", "256").badInput("--image-size", "classification exports");
    assertFalse(Files.exists(base.resolve("seg2")));
  }

  @Test
  void inspectSaysWhatItFound() {
    CliRun r = CliRun.of("inspect", CASE.resolve("weights.pth").toString()).ok();
    assertTrue(r.out().contains("wrapper:  ['state_dict']"), r.out());
    assertTrue(r.out().contains("model:    segmentation: restv2_tiny (widths / 8) backbone + UPerNet (channels 64, 10 classes,"
        + " auxiliary FCN head 32 channels on output 2)"), r.out());
    assertTrue(r.out().contains("decode_head.conv_seg.weight"), r.out());
  }

  @Test
  void aClassificationConfigWithSegmentationWeightsIsRefused(@TempDir Path tmp) {
    CliRun r = CliRun.of("forward", "--variant", "restv2_tiny", "--weights", CASE.resolve("weights.pth").toString(),
        "--input", CASE.resolve("input_0.npy").toString(), "--layout", "nchw", "--out", tmp.resolve("o").toString());
    r.badInput("weights.pth", "segmentation checkpoint", "leave out --variant");
    assertFalse(Files.exists(tmp.resolve("o")));
  }

  @Test
  void inputSidesThatAreNotMultiplesOf32AreRefused(@TempDir Path tmp) throws Exception {
    Path bad = tmp.resolve("x.npy");
    Npy.write(bad, HostTensor.ofFloats(new long[] {1, 100, 160, 3}, new float[100 * 160 * 3]));
    CliRun r = CliRun.of("forward", "--weights", CASE.resolve("weights.pth").toString(), "--input", bad.toString(),
        "--out", tmp.resolve("o").toString());
    r.badInput("x.npy", "height 100", "multiple of 32");
    assertFalse(Files.exists(tmp.resolve("o")));
    assertEquals(2, r.code());
  }
}
