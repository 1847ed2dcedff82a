package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.model.Family;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.tensor.HostTensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The in-graph optimizer against torch.optim.AdamW's update written out in Java (double precision):
 * two steps with different β1 (as one-cycle feeds them), global-norm clipping that bites, weight decay
 * on matrices only, and frozen parameters that must not move. Gradients come from the graph itself
 * (their correctness is GradientParityTest's job); BatchNorm is in eval mode so that the step's
 * gradients can be recomputed from the same weights.
 */
class AdamWTest {
  static RestConfig tiny() {
    return RestConfig.of(Family.V2, List.of(8, 16, 16, 16), List.of(1, 2, 2, 2), List.of(1, 1, 1, 1), List.of(2, 2, 1, 1),
        List.of(2, 2, 2, 2), 3, 1);
  }

  @Test
  void twoStepsEqualTorchAdamW() {
    twoStepsEqualTorchAdamW(1.0);
  }

  /**
   * With layer decay every parameter group's lr is lr · decay^(L − layer) (the official optimizer's lr_scale, applied
   * by its scheduler to the group's lr, weight decay included): the same two steps, per-group rates.
   */
  @Test
  void layerDecayScalesEachGroupsLearningRate() {
    twoStepsEqualTorchAdamW(0.6);
  }

  private void twoStepsEqualTorchAdamW(double layerDecay) {
    RestConfig cfg = tiny();
    double wd = 0.1, clip = 0.05, beta2 = 0.99, eps = 1e-6;
    TrainingGraph.Spec spec = TrainingGraph.Spec.of(cfg).withBatchNormTraining(false).withSoftTargets(false)
        .withOptimizer(wd, false, beta2, eps, clip).withFrozen(java.util.Set.of("stem.proj.0.weight")).withLayerDecay(layerDecay);
    SplittableRandom rng = new SplittableRandom(3);
    int b = 4;
    float[] x = new float[b * 64 * 64];
    for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
    TrainingGraph.Batch batch = new TrainingGraph.Batch(new long[] {b, 64, 64, 1}, x, new int[] {0, 2, 1, 2}, null, null, null);

    try (TrainingGraph g = TrainingGraph.build(spec, null)) {
      g.initFresh(11);
      assertFalse(g.trainableKeys().contains("stem.proj.0.weight"));
      Map<String, double[]> p = tfWeights(g), m = new HashMap<>(), v = new HashMap<>();
      Map<String, double[]> frozenBefore = Map.of("stem.proj.0.weight", p.get("stem.proj.0.weight"));
      double[][] steps = {{1e-2, 0.95}, {5e-3, 0.9}}; // (lr, beta1) per step
      for (int t = 1; t <= 2; t++) {
        double lr = steps[t - 1][0], beta1 = steps[t - 1][1];
        Map<String, HostTensor> grads = g.gradients(batch, null);
        double norm = 0;
        for (HostTensor gr : grads.values()) for (float f : gr.toFloats()) norm += (double) f * f;
        norm = Math.sqrt(norm);
        double coef = Math.min(1, clip / (norm + 1e-6));
        assertTrue(coef < 1, "clipping is exercised");
        TrainingGraph.StepResult r = g.step(batch, new TrainingGraph.StepScalars(lr, beta1, beta2, t, wd));
        assertEquals(norm, r.gradNorm(), 1e-4 * norm, "global norm before clipping");
        for (String key : g.trainableKeys()) {
          double[] gr = toDoubles(grads.get(key).toFloats());
          double[] pk = p.get(key), mk = m.computeIfAbsent(key, k -> new double[gr.length]), vk = v.computeIfAbsent(key, k -> new double[gr.length]);
          boolean decays = g.decays(key);
          assertEquals(!key.endsWith(".bias") && !key.contains("norm") && !key.endsWith("pos.pa_conv.bias") && isMatrix(key, cfg), decays, key);
          double bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
          double groupLr = lr * LayerDecay.scale(key, cfg.depths(), layerDecay);
          int layers = cfg.depths().stream().mapToInt(Integer::intValue).sum() + 4;
          if (layerDecay != 1.0 && key.startsWith("stage1.")) assertEquals(lr * Math.pow(layerDecay, layers - 1), groupLr, 1e-15, key + ": layer 1");
          for (int i = 0; i < gr.length; i++) {
            double gi = gr[i] * coef;
            if (decays) pk[i] *= 1 - groupLr * wd; // torch: param.mul_(1 - lr * weight_decay)
            mk[i] = beta1 * mk[i] + (1 - beta1) * gi;
            vk[i] = beta2 * vk[i] + (1 - beta2) * gi * gi;
            double denom = Math.sqrt(vk[i]) / Math.sqrt(bc2) + eps;
            pk[i] -= groupLr / bc1 * mk[i] / denom;
          }
        }
        Map<String, double[]> actual = tfWeights(g);
        List<String> bad = new ArrayList<>();
        for (String key : g.trainableKeys()) {
          double[] want = p.get(key), got = actual.get(key);
          double scale = 0, err = 0;
          for (int i = 0; i < want.length; i++) {
            scale = Math.max(scale, Math.abs(want[i]));
            err = Math.max(err, Math.abs(want[i] - got[i]));
          }
          if (err > 2e-6 * Math.max(scale, 1e-3)) bad.add(key + " err " + err + " scale " + scale);
        }
        assertTrue(bad.isEmpty(), "step " + t + ": " + bad);
        p = actual;
      }
      assertEquals(frozenBefore.get("stem.proj.0.weight").length, p.get("stem.proj.0.weight").length);
      double[] frozenNow = p.get("stem.proj.0.weight");
      for (int i = 0; i < frozenNow.length; i++) assertEquals(frozenBefore.get("stem.proj.0.weight")[i], frozenNow[i], 0.0, "frozen");
    }
  }

  /** Decayed: parameters of rank ≥ 2 in the official layout. */
  static boolean isMatrix(String key, RestConfig cfg) {
    return key.endsWith(".weight") && !key.contains("norm") && !key.matches(".*stem\\.proj\\.[14]\\.weight");
  }

  static Map<String, double[]> tfWeights(TrainingGraph g) {
    Map<String, double[]> out = new HashMap<>();
    g.allVariables().forEach((k, v) -> {
      if (!k.contains("/")) out.put(k, toDoubles(v));
    });
    return out;
  }

  static double[] toDoubles(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) d[i] = f[i];
    return d;
  }

  @Test
  void loadKeepsOrReplacesTheHead() {
    RestConfig cfg = tiny();
    try (TrainingGraph g = TrainingGraph.build(TrainingGraph.Spec.of(cfg), null)) {
      g.initFresh(1);
      Map<String, HostTensor> sd = g.stateDict(TrainingGraph.Weights.MODEL);
      sd.put("head.weight", HostTensor.ofFloats(new long[] {5, 16}, new float[80]));
      sd.put("head.bias", HostTensor.ofFloats(new long[] {5}, new float[5]));
      Pattern head = Pattern.compile("head\\..*");
      RestModel.LoadReport r = g.load(sd, new RestModel.LoadOptions(head, head), 2);
      assertEquals(List.of("head.weight", "head.bias"), r.fresh());
    }
  }
}
