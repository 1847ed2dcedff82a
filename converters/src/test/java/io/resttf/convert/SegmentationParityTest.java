package io.resttf.convert;

import static io.resttf.convert.ParityTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.convert.tensorfile.Npy;
import io.resttf.model.RestConfig;
import io.resttf.model.SegmentationModel;
import io.resttf.model.UperNetConfig;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.Layouts;
import io.resttf.testing.Fixtures;
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
 * The segmentor reproduces the float64 reference of bench/pytorch/seg_reference.py (the official mmseg
 * ResTv2 backbone + mmseg's UPerHead / FCNHead): seg_logits at the input size, the four normed backbone
 * outputs and the auxiliary logits, for restv2_tiny / small / base structures (widths / 8), on inputs
 * whose sizes divide by 32 but not by 96 (uneven and overlapping PPM bins). The weights come through the
 * official mmseg checkpoint file ({'meta', 'state_dict'}), the config is detected from them.
 */
@Tag("parity")
class SegmentationParityTest {
  static final Path ROOT = Path.of("src/test/resources/io/resttf/seg/parity");
  static final double TOLERANCE = 1e-4;

  static List<String> cases() {
    return ParityTest.caseFolders(ROOT, "weights.pth", 3);
  }


  @ParameterizedTest
  @MethodSource("cases")
  void matchesFloat64Reference(String caseName) {
    Path dir = ROOT.resolve(caseName);
    JsonNode cfg = Fixtures.json(dir.resolve("config.json"));
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(dir.resolve("weights.pth"), false, null);
    assertEquals("['state_dict']", w.wrapper(), "an mmseg checkpoint keeps its weights under 'state_dict'");
    ConfigDetector.SegmentationDetection d = ConfigDetector.detectSegmentation(w.stateDict());
    RestConfig backbone = d.backbone().config();
    JsonNode bb = cfg.get("backbone");
    assertEquals(ints(bb.get("embed_dims")), backbone.embedDims());
    assertEquals(ints(bb.get("depths")), backbone.depths());
    assertEquals(ints(bb.get("num_heads")), backbone.numHeads());
    assertEquals(ints(bb.get("sr_ratios")), backbone.srRatios());
    JsonNode head = cfg.get("head");
    UperNetConfig h = d.head();
    assertEquals(head.get("channels").asInt(), h.channels());
    assertEquals(head.get("num_classes").asInt(), h.numClasses());
    assertEquals(ints(head.get("pool_scales")), h.poolScales());
    assertEquals(head.get("aux_channels").asInt(), h.auxChannels());
    assertEquals(head.get("aux_in_index").asInt(), h.auxInIndex());

    assertMatches(caseName, dir, w, backbone, h);
  }

  /**
   * The same with the batch-1 bands built in (RestNetwork.buildingWithBands, as export --bands on does) and every
   * convolution of the backbone and the head on bands ({@code resttf.splitConvs=all}): each UPerHead convolution, the
   * pooled PPM maps of one row (whole), the backbone's blocks at batch 1.
   */
  @ParameterizedTest
  @MethodSource("cases")
  void matchesFloat64ReferenceWithBands(String caseName) {
    org.junit.jupiter.api.Assumptions.assumeFalse("AVX2".equals(System.getenv("ONEDNN_MAX_CPU_ISA")), "kernels as above");
    Path dir = ROOT.resolve(caseName);
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(dir.resolve("weights.pth"), false, null);
    ConfigDetector.SegmentationDetection d = ConfigDetector.detectSegmentation(w.stateDict());
    long[] cuts = io.resttf.testing.SystemProperties.with(java.util.Map.of("resttf.splitConvs", "all"),
        () -> io.resttf.model.RestNetwork.buildingWithBands(io.resttf.model.RestNetwork.Bands.ON,
            () -> assertMatches(caseName, dir, w, d.backbone().config(), d.head())));
    assertTrue(cuts[0] >= d.backbone().config().totalBlocks(), caseName + ": every block built on bands, " + cuts[0]);
    assertTrue(cuts[1] >= 5, caseName + ": the stem's, patch embeddings' and head's convolutions on bands, " + cuts[1]);
  }

  /** Checks every input of the case; returns how many band cuts of blocks and of convolutions its graph holds. */
  private static long[] assertMatches(String caseName, Path dir, CheckpointFiles.LoadedWeights w, RestConfig backbone,
      UperNetConfig h) {
    try (SegmentationModel model = SegmentationModel.create(backbone, h)) {
      model.load(w.stateDict());
      long[] cuts = new long[2];
      model.graph().operations().forEachRemaining(op -> {
        if (op.name().endsWith("/" + io.resttf.model.RestNetwork.BLOCK_ROWS_SPLIT_OP)) cuts[0]++;
        if (op.name().endsWith("/" + io.resttf.model.RestNetwork.CONV_ROWS_SPLIT_OP)) cuts[1]++;
      });
      for (int k = 0; Files.exists(dir.resolve("input_" + k + ".npy")); k++) {
        HostTensor x = Layouts.nchwToNhwc(Npy.read(dir.resolve("input_" + k + ".npy")));
        SegmentationModel.Outputs out = model.forward(x);
        String what = caseName + " input " + k + " " + x.shapeString();
        assertClose(Npy.read(dir.resolve("seg_logits_" + k + ".npy")), out.segLogits(), TOLERANCE, false, what + " seg_logits");
        for (int s = 0; s < 4; s++) {
          assertClose(Npy.read(dir.resolve("stage" + (s + 1) + "_" + k + ".npy")), out.features().get(s), TOLERANCE, true,
              what + " stage" + (s + 1));
        }
        assertClose(Npy.read(dir.resolve("aux_logits_" + k + ".npy")), out.auxLogits(), TOLERANCE, false, what + " aux_logits");
      }
      return cuts;
    }
  }

  /** mmseg's slide mode: overlapping crops, logits averaged by coverage, against slide_inference in float64. */
  @org.junit.jupiter.api.Test
  void slideInferenceMatchesFloat64Reference() {
    Path dir = ROOT.resolve("restv2_tiny-narrow-upernet");
    JsonNode slide = Fixtures.json(dir.resolve("config.json")).get("slide");
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(dir.resolve("weights.pth"), false, null);
    ConfigDetector.SegmentationDetection d = ConfigDetector.detectSegmentation(w.stateDict());
    try (SegmentationModel model = SegmentationModel.create(d.backbone().config(), d.head())) {
      model.load(w.stateDict());
      HostTensor x = Layouts.nchwToNhwc(Npy.read(dir.resolve("input_" + slide.get("input").asInt() + ".npy")));
      HostTensor got = model.slideLogits(x, slide.get("crop").asInt(), slide.get("stride").asInt());
      assertClose(Npy.read(dir.resolve("slide_logits_0.npy")), got, TOLERANCE, false, "slide_logits");
      // overlapping crops see less context than the whole image: the two modes really differ here
      float[] whole = model.wholeLogits(x).toFloats(), s = got.toFloats();
      double diff = 0;
      for (int i = 0; i < s.length; i++) diff = Math.max(diff, Math.abs(whole[i] - s[i]));
      assertTrue(diff > 1e-2, "slide and whole logits should differ, max diff " + diff);
    }
  }

  private static List<Integer> ints(JsonNode array) {
    List<Integer> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asInt()));
    return out;
  }
}
