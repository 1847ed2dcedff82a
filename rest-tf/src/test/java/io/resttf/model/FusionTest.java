package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.tensorflow.Result;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.proto.NodeExecStats;
import org.tensorflow.types.TFloat32;

/**
 * The inference graph is written so that grappler's remapper fuses what it can into oneDNN kernels: each
 * MLP's fc1 MatMul + BiasAdd + exact GELU runs as one fused MatMul (the GELU's Erf never runs on its
 * own), every LayerNorm runs as one {@code _MklLayerNorm} (no Square or SquaredDifference of its own), every
 * convolution followed by a BatchNorm runs as one fused convolution (no FusedBatchNormV3, no standalone
 * BiasAdd; the ReLU after it stays a Maximum of its own, which keeps NaN as PyTorch does), and stride-1 depthwise convolutions take no Pad of their own. Checked on the op types
 * and nodes a traced run actually executed, after grappler and oneDNN's rewrites, for both families and a
 * window style whose extra residual convs once made the remapper fail as a whole (every fusion lost).
 */
class FusionTest {
  static final RestConfig V2 = RestConfig.of(Family.V2, List.of(16, 32, 32, 32), List.of(1, 2, 2, 2),
      List.of(1, 1, 1, 1), List.of(2, 2, 1, 1), List.of(4, 4, 4, 4), 10, 3);
  static final RestConfig V1 = RestConfig.of(Family.V1, List.of(16, 32, 32, 32), List.of(1, 2, 2, 2),
      List.of(1, 1, 1, 1), List.of(2, 2, 1, 1), List.of(4, 4, 4, 4), 10, 3);

  @Test
  void resTv2IsFused() {
    assertFused(V2, 64, 64);
  }

  @Test
  void resTv1IsFused() {
    assertFused(V1, 64, 64);
  }

  @Test
  void cwinWindowsAreFused() {
    assertFused(V2.withWindows(DesignSpace.WindowStyle.CWIN, List.of(8, 4, 2, 1)), 64, 64);
  }

  /** As in PyTorch, a NaN in the input reaches the logits (no fused ReLU turns it into 0 on the way). */
  @Test
  void aNanPixelReachesTheLogits() {
    for (RestConfig c : List.of(V1, V2)) {
      try (RestModel m = RestModel.create(c)) {
        m.initFresh(2);
        float[] v = new float[64 * 64 * 3];
        java.util.Arrays.fill(v, 0.25f);
        v[0] = Float.NaN;
        float[] logits = m.forward(io.resttf.tensor.HostTensor.ofFloats(new long[] {1, 64, 64, 3}, v)).logits().toFloats();
        assertTrue(Float.isNaN(logits[0]), c.family() + ": logits " + java.util.Arrays.toString(logits));
      }
    }
  }

  private static void assertFused(RestConfig config, int h, int w) {
    Set<String> executed = new TreeSet<>();
    List<String> nodes = new ArrayList<>();
    try (RestModel m = RestModel.create(config)) {
      m.initFresh(1);
      try (TFloat32 x = TFloat32.tensorOf(Shape.of(1, h, w, 3), d -> d.scalars().forEach(s -> s.setFloat(0.5f)));
           Result r = TracedRun.run(m.session().runner().feed(m.network().input(), x).fetch(m.network().logits()))) {
        for (NodeExecStats n : TracedRun.nodes(r)) {
          String label = n.getTimelineLabel();
          int eq = label.indexOf(" = "), paren = label.indexOf('(', Math.max(eq, 0));
          if (eq >= 0 && paren > eq) executed.add(label.substring(eq + 3, paren).trim());
          nodes.add(label);
        }
      }
    }
    boolean oneDnn = !"0".equals(System.getenv("TF_ENABLE_ONEDNN_OPTS"));
    if (!oneDnn) return;
    assertFalse(executed.contains("Erf"), "GELU's Erf ran unfused; executed: " + executed);
    assertTrue(executed.stream().anyMatch(t -> t.contains("FusedMatMul")), "no fused MatMul ran: " + executed);
    assertTrue(executed.contains("_MklLayerNorm"), "no fused LayerNorm ran: " + executed);
    // (ResT v1's head interaction has an InstanceNorm of its own, under .attn: not a LayerNorm)
    assertTrue(nodes.stream().noneMatch(n -> n.contains("norm") && (n.contains("= Square(")
        || n.contains("= SquaredDifference("))), "a LayerNorm ran unfused: " + nodes.stream()
        .filter(n -> n.contains("Square")).toList());
    for (String unfused : List.of("FusedBatchNormV3", "_MklFusedBatchNormV3")) {
      assertFalse(executed.contains(unfused), "ran unfused: " + unfused + "; executed: " + executed);
    }
    assertTrue(executed.stream().anyMatch(t -> t.contains("FusedConv2D")), "no fused Conv2D ran: " + executed);
    // the stem's two BatchNorms: no standalone BiasAdd left in the stem
    assertTrue(nodes.stream().noneMatch(n -> n.contains("stem") && n.contains("= BiasAdd(")),
        "a stem BiasAdd ran unfused: " + nodes.stream().filter(n -> n.contains("BiasAdd(")).toList());
    // PA's and the upsample branch's 3x3 depthwise convs are SAME: no Pad feeds them
    assertTrue(nodes.stream().noneMatch(n -> n.contains(".pos/Pad") || n.contains(".up.0/Pad")),
        "a stride-1 depthwise conv was padded: " + nodes.stream().filter(n -> n.contains("Pad")).toList());
  }
}
