package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import io.resttf.testing.SystemProperties;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tensorflow.Result;
import org.tensorflow.types.TFloat32;

/**
 * Where blocks run on bands of rows ({@code resttf.splitBlocks}), the stem's and patch embeddings' convolutions do
 * too (Nn#convOnBandsOfRows): two VALID convolutions on the padded input's rows with their halo, joined. Which run
 * on bands, and that the answers are those of the whole convolutions; against the float64 references: ParityTest
 * (the narrow cases with {@code resttf.splitConvs=all}, rest_lite-full with the default rule).
 */
class ConvRowSplitTest {

  /** restv2_tiny at 224²: the stride-2 3×3 convolutions of 130 M multiply-adds; the stem's first (3 channels) whole. */
  @Test
  void restV2TinyRunsItsLargeConvolutionsOnBandsAtBatch1() {
    assertBandsAndSameLogits("restv2_tiny", image(1, 224, 224),
        List.of("patch_2.proj", "patch_3.proj", "patch_4.proj", "stem.proj.3"));
  }

  /** rest_lite at 224²: the stem's stride-1 and second stride-2 convolution and every patch embedding. */
  @Test
  void restLiteRunsItsLargeConvolutionsOnBandsAtBatch1() {
    assertBandsAndSameLogits("rest_lite", image(1, 224, 224),
        List.of("patch_embed_2.conv", "patch_embed_3.conv", "patch_embed_4.conv", "stem.conv2", "stem.conv3"));
  }

  /**
   * 32 × 512: patch_3 has two output rows (bands of one row each), patch_4 one (whole, though large enough); at
   * 64 × 64 every convolution is below the rule's 32 M multiply-adds and runs whole.
   */
  @Test
  void oneOutputRowAndSmallRunsTakeTheWholeConvolution() {
    assertBandsAndSameLogits("restv2_tiny", image(1, 32, 512), List.of("patch_2.proj", "patch_3.proj", "stem.proj.3"));
    assertBandsAndSameLogits("restv2_tiny", image(1, 64, 64), List.of());
  }

  /**
   * A map whose height the graph fixes (a segmentation head's pooled 1×1 map) and that gives one output row builds
   * the whole convolution only: a top band of no rows fails TF's shape inference at build time, even in the branch
   * that never runs. Two output rows build the bands.
   */
  @Test
  void aHeightFixedInTheGraphDecidesWhenTheGraphIsBuilt() {
    SystemProperties.with(Map.of(Nn.SPLIT_BLOCKS_PROPERTY, "true", Nn.SPLIT_CONVS_PROPERTY, "all"), () -> {
      for (long h : new long[] {1, 4}) {
        try (org.tensorflow.Graph g = new org.tensorflow.Graph()) {
          org.tensorflow.op.Ops tf = org.tensorflow.op.Ops.create(g);
          Nn nn = new Nn(tf, new Params(tf, false), Variants.get("restv2_tiny"), null);
          var x = tf.placeholder(TFloat32.class, org.tensorflow.op.core.Placeholder.shape(
              org.tensorflow.ndarray.Shape.of(-1, h, 5, 16)));
          nn.conv(x, "c", 16, 8, 3, 1, 1, true);
          nn.convBatchNorm(x, "d", "d_bn", 16, 8, 1, 1, 0, false);
          List<String> cuts = new ArrayList<>();
          g.operations().forEachRemaining(op -> {
            if (op.name().endsWith("/" + Nn.CONV_ROWS_SPLIT_OP)) cuts.add(op.name());
          });
          assertEquals(h == 1 ? List.of() : List.of("c/" + Nn.CONV_ROWS_SPLIT_OP, "d/" + Nn.CONV_ROWS_SPLIT_OP),
              cuts.stream().sorted().toList(), "height " + h);
        }
      }
      return null;
    });
  }

  @Test
  void aBadValueIsOneLine() {
    SystemProperties.with(Map.of(Nn.SPLIT_BLOCKS_PROPERTY, "true", Nn.SPLIT_CONVS_PROPERTY, "some"), () -> {
      BadInputException e = assertThrows(BadInputException.class, () -> RestNetwork.parameters(Variants.get("rest_lite")));
      assertTrue(e.getMessage().contains(Nn.SPLIT_CONVS_PROPERTY) && e.getMessage().contains("'some'"), e.getMessage());
      return null;
    });
  }

  /**
   * Runs {@code variant} (fresh weights) on x with bands on: the convolutions that ran on bands are {@code banded}
   * (by scope), and the logits equal those of the same weights with every convolution whole.
   */
  private static void assertBandsAndSameLogits(String variant, HostTensor x, List<String> banded) {
    List<String> nodes = new ArrayList<>();
    Map<String, HostTensor> weights = new LinkedHashMap<>();
    float[] split = SystemProperties.with(Map.of(Nn.SPLIT_BLOCKS_PROPERTY, "true"), () -> {
      try (RestModel m = RestModel.create(Variants.get(variant))) {
        m.initFresh(11);
        weights.putAll(m.stateDict());
        return logits(m, x, nodes);
      }
    });
    List<String> none = new ArrayList<>();
    float[] whole = SystemProperties.with(Map.of(Nn.SPLIT_BLOCKS_PROPERTY, "true", Nn.SPLIT_CONVS_PROPERTY, "false"), () -> {
      try (RestModel m = RestModel.create(Variants.get(variant))) {
        m.load(weights);
        return logits(m, x, none);
      }
    });
    assertEquals(banded, bandedConvs(nodes), variant + " " + java.util.Arrays.toString(x.shape()));
    assertTrue(bandedConvs(none).isEmpty(), "splitConvs=false: no convolution on bands");
    double worst = 0;
    for (int i = 0; i < split.length; i++) worst = Math.max(worst, Math.abs(split[i] - whole[i]) / Math.max(1, Math.abs(whole[i])));
    assertTrue(worst < 1e-5, "convolutions on bands against whole: " + worst);
  }

  private static float[] logits(RestModel m, HostTensor x, List<String> nodes) {
    try (TFloat32 t = TfTensors.toTf(x);
         Result r = TracedRun.run(m.session().runner().feed(m.network().input(), t).fetch(m.network().logits()))) {
      TracedRun.nodes(r).forEach(n -> nodes.add(n.getNodeName()));
      return TfTensors.toHost((TFloat32) r.get(0)).toFloats();
    }
  }

  /** The scopes of the convolutions whose top band was cut out in a run, sorted. */
  private static List<String> bandedConvs(List<String> nodes) {
    String suffix = "/" + Nn.CONV_ROWS_SPLIT_OP;
    return nodes.stream().filter(n -> n.endsWith(suffix)).map(n -> n.substring(0, n.length() - suffix.length()))
        .sorted().toList();
  }

  private static HostTensor image(int n, int h, int w) {
    float[] v = new float[n * h * w * 3];
    for (int i = 0; i < v.length; i++) v[i] = (float) Math.sin(0.37 * (i % (h * w * 3)) + (i / (h * w * 3)));
    return HostTensor.ofFloats(new long[] {n, h, w, 3}, v);
  }
}
