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
    assertTrue(r.out().contains("signatures: serving_default, segment_images, preprocess_images, features"), r.out());
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
    CliRun.of("export", "--checkpoint", CASE.resolve("weights.pth").toString(), "--name", "seg2", "--base", base.toString(),
        "--precision", "bf16").badInput("--precision bf16", "classification exports");
    assertFalse(Files.exists(base.resolve("seg2")));
  }

  static final Path PIL = Path.of("../savedmodels/src/test/resources/io/resttf/serving/pil");
  static final Path SEGPIPE = Path.of("../savedmodels/src/test/resources/io/resttf/serving/segpipe");

  @Test
  void segmentWritesClassMapsOverlaysAndLinesAndGoesOnAfterACorruptImage(@TempDir Path tmp) throws Exception {
    Path base = tmp.resolve("models");
    CliRun.of("export", "--checkpoint", CASE.resolve("weights.pth").toString(), "--name", "seg", "--base", base.toString()).ok();
    Path corrupt = tmp.resolve("broken.png");
    Files.write(corrupt, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
    Path out = tmp.resolve("out");
    CliRun r = CliRun.of("segment", "--model", base.resolve("seg").toString(), "--out", out.toString(),
        PIL.resolve("odd_333x517.jpg").toString(), corrupt.toString(), PIL.resolve("rgba_97x150.png").toString());
    assertEquals(2, r.code(), r.err());
    r.oneLine("broken.png");
    assertTrue(r.out().contains("odd_333x517.jpg (333x517): class_"), r.out());
    assertTrue(r.out().contains("rgba_97x150.png (97x150): class_"), r.out());
    java.awt.image.BufferedImage classes = javax.imageio.ImageIO.read(out.resolve("odd_333x517.classes.png").toFile());
    assertEquals(333, classes.getWidth());
    assertEquals(517, classes.getHeight());
    // the class map equals mmseg's pipeline (OpenCV + the float64 segmentor) but where float rounding ties
    long[] ref = Npy.read(SEGPIPE.resolve("odd_333x517.jpg.class_map.npy")).toLongs();
    int same = 0;
    for (int y = 0; y < 517; y++) for (int x = 0; x < 333; x++) if (classes.getRaster().getSample(x, y, 0) == ref[y * 333 + x]) same++;
    assertTrue(same >= 0.9995 * ref.length, same + " of " + ref.length);
    java.awt.image.BufferedImage overlay = javax.imageio.ImageIO.read(out.resolve("odd_333x517.overlay.png").toFile());
    assertEquals(517, overlay.getHeight());
    assertTrue(overlay.getWidth() > 333, "a legend beside the image");
    assertFalse(Files.exists(out.resolve("broken.classes.png")));

    CliRun slide = CliRun.of("segment", "--model", base.resolve("seg").toString(), "--out", tmp.resolve("s").toString(),
        "--mode", "slide", "--crop", "256", "--stride", "171", "--flip", PIL.resolve("odd_333x517.jpg").toString()).ok();
    assertTrue(slide.out().contains("odd_333x517.jpg (333x517): "), slide.out());
    CliRun.of("segment", "--model", base.resolve("seg").toString(), "--out", tmp.resolve("t").toString(), "--mode", "slide",
        "--crop", "100", PIL.resolve("odd_333x517.jpg").toString()).badInput("--crop 100", "multiple of 32");
    CliRun.of("segment", "--model", base.resolve("seg").toString(), "--out", tmp.resolve("t").toString(), "--mode", "slide",
        "--crop", "1024", "--stride", "512", PIL.resolve("odd_333x517.jpg").toString())
        .badInput("odd_333x517.jpg", "smaller than the 1024-pixel slide crop");
    CliRun.of("segment", "--model", CASE.resolve("weights.pth").toString(), "--out", tmp.resolve("u").toString(),
        PIL.resolve("odd_333x517.jpg").toString()).badInput("weights.pth", "checkpoint file");
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
