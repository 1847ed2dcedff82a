package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.model.RestConfig;
import io.resttf.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run stopped after k steps (mid-epoch) and resumed in a new trainer ends with bit-identical weights,
 * AdamW slots and EMA to a run of the same length that was never stopped (CPU, tiny model, data slice,
 * with drop path, dropout, label smoothing, batch flips, RandAugment, Mixup / CutMix, random erasing, one-cycle momentum and EMA
 * all active).
 */
class ResumeTest {
  static RestConfig micro() {
    return RestConfig.read(Fixtures.root().resolve("fashion-restv2-micro/config.json"));
  }

  static TrainOptions options() {
    TrainOptions o = TrainOptions.recipe(TrainOptions.FASHION, 2, 16);
    TrainOptions given = new TrainOptions();
    given.ema = true;
    given.emaDecay = 0.9;
    given.dropout = 0.1;
    given.aa = "rand-m9-mstd0.5-inc1";
    given.mixup = 0.8;
    given.cutmix = 1.0;
    given.reprob = 0.25;
    given.augRepeats = 3;
    given.seed = 5L;
    return o.overriddenBy(given);
  }

  static Trainer.Settings settings() {
    return Trainer.Settings.defaults().withWorkers(2).withEvalBatch(48).withInitialEval(false);
  }

  @Test
  void resumedRunIsBitIdenticalToAnUninterruptedOne(@TempDir Path tmp) throws Exception {
    DataSpec data = DataSpec.fashionMnist(96); // 6 steps per epoch of 16
    Map<String, float[]> straight;
    try (Trainer a = Trainer.start(tmp.resolve("a"), micro(), null, data, options(), settings())) {
      Trainer.Result r = a.run(null);
      assertTrue(r.finished());
      assertEquals(12, r.step());
      straight = a.snapshot();
    }

    int k = 4;
    try (Trainer b = Trainer.start(tmp.resolve("b"), micro(), null, data, options(), settings())) {
      Trainer.Result r = b.run(new TrainingListener() {
        @Override
        public void onStep(StepEvent e) {
          if (e.step() == k) b.requestStop();
        }
      });
      assertFalse(r.finished());
      assertEquals(k, r.step());
    }
    JsonNode state = TrainOptions.JSON.readTree(tmp.resolve("b/checkpoint/state.json").toFile());
    assertEquals(k, state.get("step").asLong());
    assertFalse(Files.exists(tmp.resolve("b/savedmodel")), "no export before the end");

    Map<String, float[]> resumed;
    try (Trainer b2 = Trainer.resume(tmp.resolve("b"), Trainer.Given.NOTHING, settings())) {
      assertEquals(k, b2.globalStep());
      Trainer.Result r = b2.run(null);
      assertTrue(r.finished());
      assertEquals(12, r.step());
      resumed = b2.snapshot();
    }

    assertEquals(straight.keySet(), resumed.keySet());
    assertTrue(straight.keySet().stream().anyMatch(n -> n.startsWith("optimizer/m/")), "slots are compared");
    assertTrue(straight.keySet().stream().anyMatch(n -> n.startsWith("ema/")), "EMA is compared");
    for (String name : straight.keySet()) {
      assertArrayEquals(straight.get(name), resumed.get(name), name + " differs after resume");
    }
    // the metrics of both runs describe the same 12 steps with the same losses
    assertEquals(stepLosses(tmp.resolve("a")), stepLosses(tmp.resolve("b")));
  }

  static List<Double> stepLosses(Path run) throws Exception {
    return Files.readAllLines(run.resolve(Trainer.METRICS_FILE)).stream()
        .map(l -> {
          try {
            return TrainOptions.JSON.readTree(l);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        })
        .filter(n -> "step".equals(n.path("kind").asText()))
        .map(n -> n.get("loss").asDouble()).toList();
  }
}
