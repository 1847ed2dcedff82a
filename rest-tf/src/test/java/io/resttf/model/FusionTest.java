package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.tensorflow.Result;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.proto.DeviceStepStats;
import org.tensorflow.proto.NodeExecStats;
import org.tensorflow.proto.RunOptions;
import org.tensorflow.types.TFloat32;

/**
 * The inference graph is written so that grappler's remapper fuses what it can into oneDNN kernels: each
 * MLP's fc1 MatMul + BiasAdd + exact GELU runs as one fused MatMul (the GELU's Erf never runs on its
 * own), and every LayerNorm runs as one {@code _MklLayerNorm} (no Square or SquaredDifference of its own). Checked on the op types a traced run actually executed, after grappler and oneDNN's rewrites.
 */
class FusionTest {
  @Test
  void geluAndLayerNormAreFused() {
    RestConfig v2 = RestConfig.of(Family.V2, List.of(16, 32, 32, 32), List.of(1, 2, 2, 2), List.of(1, 1, 1, 1),
        List.of(2, 2, 1, 1), List.of(4, 4, 4, 4), 10, 3);
    Set<String> executed = new TreeSet<>();
    try (RestModel m = RestModel.create(v2)) {
      m.initFresh(1);
      try (TFloat32 x = TFloat32.tensorOf(Shape.of(1, 64, 64, 3), d -> d.scalars().forEach(s -> s.setFloat(0.5f)));
           Result r = m.session().runner().feed(m.network().input(), x).fetch(m.network().logits())
               .setOptions(RunOptions.newBuilder().setTraceLevel(RunOptions.TraceLevel.FULL_TRACE).build())
               .runAndFetchMetadata()) {
        for (DeviceStepStats dev : r.getMetadata().orElseThrow().getStepStats().getDevStatsList()) {
          for (NodeExecStats n : dev.getNodeStatsList()) {
            String label = n.getTimelineLabel();
            int eq = label.indexOf(" = "), paren = label.indexOf('(', Math.max(eq, 0));
            if (eq >= 0 && paren > eq) executed.add(label.substring(eq + 3, paren).trim());
          }
        }
      }
    }
    boolean oneDnn = !"0".equals(System.getenv("TF_ENABLE_ONEDNN_OPTS"));
    if (oneDnn) {
      assertFalse(executed.contains("Erf"), "GELU's Erf ran unfused; executed: " + executed);
      assertTrue(executed.stream().anyMatch(t -> t.contains("FusedMatMul")), "no fused MatMul ran: " + executed);
      assertTrue(executed.contains("_MklLayerNorm"), "no fused LayerNorm ran: " + executed);
      for (String elementwise : List.of("Square", "SquaredDifference", "FusedBatchNormV3")) {
        assertFalse(executed.contains(elementwise), "a LayerNorm ran unfused (" + elementwise + "): " + executed);
      }
    }
  }
}
