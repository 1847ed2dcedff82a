package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Result;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.proto.NodeExecStats;
import org.tensorflow.types.TFloat32;

/**
 * A bfloat16 model reads its MatMul and convolution weights from bfloat16 copies: no weight is cast on a run,
 * the logits are those of the same weights cast on every run (the rewriter's own path), and a new load
 * refreshes the copies.
 */
class Bf16WeightCopiesTest {
  static final RestConfig V2 = FusionTest.V2;

  static HostTensor input(long seed) {
    float[] v = new float[2 * 64 * 64 * 3];
    java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
    for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
    return HostTensor.ofFloats(new long[] {2, 64, 64, 3}, v);
  }

  @Test
  void copiesGiveTheRewritersLogitsWithoutCastingWeights() {
    HostTensor x = input(3);
    Map<String, HostTensor> weights;
    float[] perRunCasts, fp32;
    try (RestModel m = RestModel.create(V2)) {
      m.initFresh(5);
      weights = m.stateDict();
      fp32 = m.forward(x).logits().toFloats();
    }
    try (RestModel m = RestModel.create(V2, Precision.BF16.sessionConfig(null))) {
      m.load(weights);
      perRunCasts = m.forward(x).logits().toFloats();
      assertTrue(castsOfWeights(m) > 0, "the rewriter without copies casts weights on every run (the count works)");
    }
    try (RestModel m = RestModel.create(V2, null, Precision.BF16)) {
      m.load(weights);
      float[] copies = m.forward(x).logits().toFloats();
      assertArrayEquals(perRunCasts, copies, 1e-6f, "copies and per-run casts round the weights alike");
      double diff = 0;
      for (int i = 0; i < fp32.length; i++) diff = Math.max(diff, Math.abs(fp32[i] - copies[i]));
      assertTrue(diff > 0, "the model did compute in bfloat16");
      assertTrue(diff < 0.05, "bfloat16 logits far from float32: " + diff);
      int casts = castsOfWeights(m);
      assertEquals(0, casts, "weights cast on a run");
    }
  }

  @Test
  void aNewLoadRefreshesTheCopies() {
    HostTensor x = input(4);
    Map<String, HostTensor> a, b;
    float[] expected;
    try (RestModel m = RestModel.create(V2)) {
      m.initFresh(1);
      a = m.stateDict();
      m.initFresh(2);
      b = m.stateDict();
    }
    try (RestModel m = RestModel.create(V2, null, Precision.BF16)) {
      m.load(b);
      expected = m.forward(x).logits().toFloats();
    }
    try (RestModel m = RestModel.create(V2, null, Precision.BF16)) {
      m.load(a);
      m.forward(x);
      m.load(b);
      assertArrayEquals(expected, m.forward(x).logits().toFloats(), 0f);
      assertEquals(b.keySet(), m.stateDict().keySet(), "the copies are no state_dict keys");
    }
  }

  @Test
  void checkpointsAreRefusedWithCopies(@TempDir Path tmp) {
    try (RestModel m = RestModel.create(V2, null, Precision.BF16)) {
      m.initFresh(1);
      assertTrue(assertThrows(BadInputException.class, () -> m.saveCheckpoint(tmp.resolve("ckpt"))).getMessage()
          .startsWith("a bfloat16 model keeps weight copies"));
    }
  }

  /** Cast ops a traced run executed whose input is a weight variable (float32 weight → bfloat16). */
  private static int castsOfWeights(RestModel m) {
    int n = 0;
    try (TFloat32 x = TFloat32.tensorOf(Shape.of(1, 64, 64, 3), d -> d.scalars().forEach(s -> s.setFloat(0.5f)));
         Result r = TracedRun.run(m.session().runner().feed(m.network().input(), x).fetch(m.network().logits()))) {
      List<String> weightNames = m.network().params().all().values().stream()
          .filter(p -> Params.COPIED_KINDS.contains(p.kind())).map(Params.Param::tfName).toList();
      for (NodeExecStats s : TracedRun.nodes(r)) {
        String label = s.getTimelineLabel();
        if (!label.contains("= Cast(")) continue;
        for (String w : weightNames) {
          if (label.contains("(" + w + ")") || label.contains("(" + w + Params.BF16_COPY_SUFFIX + ")")) n++;
        }
      }
    }
    return n;
  }
}
