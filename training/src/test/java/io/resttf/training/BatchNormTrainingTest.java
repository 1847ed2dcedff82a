package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.model.Family;
import io.resttf.model.RestConfig;
import io.resttf.tensor.HostTensor;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Training mode BatchNorm updates its running averages as PyTorch does: running = 0.9 · running + 0.1 ·
 * batch statistic, the variance unbiased (n / (n − 1)); checked on the first BatchNorm of the stem of
 * both families against its input (the stem's first convolution) computed here in double precision.
 */
@Tag("parity")
class BatchNormTrainingTest {
  @Test
  void runningStatisticsAsPyTorch() {
    RestConfig v2 = RestConfig.of(Family.V2, List.of(8, 16, 16, 16), List.of(1, 2, 2, 2), List.of(1, 1, 1, 1),
        List.of(2, 2, 1, 1), List.of(2, 2, 2, 2), 3, 2);
    RestConfig v1 = RestConfig.of(Family.V1, List.of(8, 16, 16, 16), List.of(1, 2, 2, 2), List.of(1, 1, 1, 1),
        List.of(2, 2, 1, 1), List.of(2, 2, 2, 2), 3, 2);
    check(v2, "stem.proj.0.weight", "stem.proj.1");
    check(v1, "stem.conv1.weight", "stem.norm1");
  }

  private static void check(RestConfig cfg, String convKey, String bn) {
    int b = 3, h = 32, w = 32, c = cfg.inChans();
    SplittableRandom rng = new SplittableRandom(2);
    float[] x = new float[b * h * w * c];
    for (int i = 0; i < x.length; i++) x[i] = (float) (rng.nextGaussian() + 0.3);
    TrainingGraph.Spec spec = TrainingGraph.Spec.of(cfg).withSoftTargets(false).withOptimizer(0, false, 0.999, 1e-8, 0);
    try (TrainingGraph g = TrainingGraph.build(spec, null)) {
      g.initFresh(5);
      Map<String, HostTensor> before = g.stateDict(TrainingGraph.Weights.MODEL);
      HostTensor wt = before.get(convKey); // [O, I, 3, 3]
      int o = (int) wt.shape()[0];
      float[] k = wt.toFloats();
      // conv 3x3, stride 2, padding 1, no bias: output 16x16
      int oh = h / 2, ow = w / 2;
      double[] sum = new double[o], sq = new double[o];
      double[][] vals = new double[o][b * oh * ow];
      for (int n = 0; n < b; n++)
        for (int y = 0; y < oh; y++)
          for (int xx = 0; xx < ow; xx++)
            for (int oc = 0; oc < o; oc++) {
              double acc = 0;
              for (int ic = 0; ic < c; ic++)
                for (int ky = 0; ky < 3; ky++)
                  for (int kx = 0; kx < 3; kx++) {
                    int iy = 2 * y - 1 + ky, ix = 2 * xx - 1 + kx;
                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                    acc += x[((n * h + iy) * w + ix) * c + ic] * (double) k[((oc * c + ic) * 3 + ky) * 3 + kx];
                  }
              vals[oc][(n * oh + y) * ow + xx] = acc;
              sum[oc] += acc;
            }
      int count = b * oh * ow;
      // lr 0, no decay: the step changes nothing but the running statistics
      g.step(new TrainingGraph.Batch(new long[] {b, h, w, c}, x, new int[] {0, 1, 2}, null, null, null),
          new TrainingGraph.StepScalars(0, 0.9, 0.999, 1, 0));
      Map<String, HostTensor> after = g.stateDict(TrainingGraph.Weights.MODEL);
      float[] rm = after.get(bn + ".running_mean").toFloats(), rv = after.get(bn + ".running_var").toFloats();
      float[] rm0 = before.get(bn + ".running_mean").toFloats(), rv0 = before.get(bn + ".running_var").toFloats();
      for (int oc = 0; oc < o; oc++) {
        double mean = sum[oc] / count;
        for (double v : vals[oc]) sq[oc] += (v - mean) * (v - mean);
        double unbiased = sq[oc] / (count - 1);
        assertEquals(0.9 * rm0[oc] + 0.1 * mean, rm[oc], 1e-5 * Math.max(1, Math.abs(mean)), bn + " running_mean[" + oc + "]");
        assertEquals(0.9 * rv0[oc] + 0.1 * unbiased, rv[oc], 1e-5 * Math.max(1, unbiased), bn + " running_var[" + oc + "]");
      }
      assertTrue(java.util.Arrays.equals(before.get(convKey).toFloats(), after.get(convKey).toFloats()), "lr 0 leaves weights");
    }
  }
}
