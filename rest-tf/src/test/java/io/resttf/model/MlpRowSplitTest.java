package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/**
 * Inference MLPs whose MatMuls oneDNN would run on one thread (operands within 2 MiB) run on two halves of
 * their rows at once: the band of row counts follows TF's rule, rest_lite's stage-3 MLPs take the split
 * at batch 1 (224²) with their GELU still fused, and a batch of 2 (outside the band) runs them whole with
 * the same answers. Parity of the split path against the float64 reference: ParityTest (rest_lite-full).
 */
class MlpRowSplitTest {

  @Test
  void bandIsWhereFc1FitsTheSingleThreadRuleAndIsWorthASecondCore() {
    long[] band = Nn.splitMlpRows(256, 1024);
    assertArrayEquals(new long[] {64, 205}, band);
    // the edges, from TF's ExecuteSingleThreadedGemm: 4·(m·n + k·(m + n)) bytes under 2 MiB
    IntFunction<Long> bytes = m -> 4L * (m * 1024L + 256L * (m + 1024L));
    assertTrue(bytes.apply(204) < Nn.SINGLE_THREAD_GEMM_BYTES);
    assertTrue(bytes.apply(205) >= Nn.SINGLE_THREAD_GEMM_BYTES);
    assertTrue(63L * 256 * 1024 < Nn.SPLIT_MLP_MIN_MACS && 64L * 256 * 1024 >= Nn.SPLIT_MLP_MIN_MACS);
    assertArrayEquals(new long[] {1024, 1588}, Nn.splitMlpRows(64, 256));
    assertNull(Nn.splitMlpRows(384, 1536), "restv2_tiny's stage 3: fc1's weights alone pass 2 MiB");
    assertNull(Nn.splitMlpRows(16, 64), "too small at any row count that fits");
  }

  @Test
  void restLiteStage3MlpsRunOnHalvesOfTheirRowsAtBatch1Only() {
    try (RestModel m = RestModel.create(Variants.get("rest_lite"))) {
      m.initFresh(3);
      List<String> one = new ArrayList<>();
      List<String> two = new ArrayList<>();
      float[] l1 = TracedRun.firstImageLogits(m, 1, one);
      float[] l2 = TracedRun.firstImageLogits(m, 2, two);

      List<String> split = one.stream().filter(n -> n.endsWith("mlp/" + RestNetwork.MLP_ROWS_SPLIT_OP)).sorted().toList();
      assertEquals(List.of("stage3.0.mlp/" + RestNetwork.MLP_ROWS_SPLIT_OP, "stage3.1.mlp/" + RestNetwork.MLP_ROWS_SPLIT_OP),
          split, "MLPs split at batch 1");
      assertFalse(one.stream().anyMatch(n -> n.startsWith("Erf")), "every GELU fused, also in the halves");
      assertFalse(two.stream().anyMatch(n -> n.endsWith("mlp/" + RestNetwork.MLP_ROWS_SPLIT_OP)), "batch 2: 392 rows, whole");

      // image 0 of the batch of 2 is the batch-1 image: the same logits either way
      double worst = 0;
      for (int i = 0; i < l1.length; i++) worst = Math.max(worst, Math.abs(l1[i] - l2[i]) / Math.max(1, Math.abs(l1[i])));
      assertTrue(worst < 1e-5, "batch 1 (split) against batch 2 (whole): " + worst);
    }
  }

  @Test
  void aBadSwitchValueIsRefused() {
    io.resttf.testing.SystemProperties.run(java.util.Map.of(Nn.SPLIT_MLP_PROPERTY, "maybe"), () -> {
      BadInputException e = assertThrows(BadInputException.class, () -> RestNetwork.parameters(Variants.get("rest_lite")));
      assertTrue(e.getMessage().contains(Nn.SPLIT_MLP_PROPERTY) && e.getMessage().contains("maybe"), e.getMessage());
    });
  }

}
