package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.HostTensor;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Fresh weights follow the official _init_weights of each family (distributions, not values). */
class WeightInitTest {
  @Test
  void asTheOfficialCode() {
    Map<String, HostTensor> v2 = fresh(Variants.get("restv2_tiny")), v1 = fresh(Variants.get("rest_lite"));
    // ResTv2: convolutions and linears ~ N(0, 0.02) (timm trunc_normal_ with absolute bounds ±2), biases 0
    for (String k : new String[] {"stem.proj.3.weight", "stage3.0.mlp.fc1.weight", "patch_4.proj.weight", "stage1.0.attn.up.0.weight"}) {
      double[] ms = meanStd(v2.get(k).toFloats());
      assertEquals(0, ms[0], 0.002, k + " mean");
      assertEquals(0.02, ms[1], 0.002, k + " std");
    }
    assertTrue(allEqual(v2.get("patch_2.proj.bias").toFloats(), 0f) && allEqual(v2.get("stage2.0.attn.sr.bias").toFloats(), 0f));
    assertTrue(allEqual(v2.get("stem.proj.1.weight").toFloats(), 1f) && allEqual(v2.get("stem.proj.1.running_var").toFloats(), 1f));
    assertTrue(allEqual(v2.get("norm.weight").toFloats(), 1f) && allEqual(v2.get("head.bias").toFloats(), 0f));
    // ResT: convolution biases keep PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)); linear biases 0
    float[] pa = v1.get("stem.pos.pa_conv.bias").toFloats(); // depthwise 3x3: fan_in 9
    float max = 0;
    for (float f : pa) max = Math.max(max, Math.abs(f));
    assertTrue(max <= 1 / 3f && max > 0.25f, "pa_conv bias within 1/3: " + max);
    float[] pe = v1.get("patch_embed_3.conv.bias").toFloats(); // fan_in 128 * 9
    double bound = 1 / Math.sqrt(128 * 9);
    for (float f : pe) assertTrue(Math.abs(f) <= bound);
    assertEquals(bound / Math.sqrt(3), meanStd(pe)[1], bound * 0.15, "uniform spread");
    assertTrue(allEqual(v1.get("stage1.0.attn.q.bias").toFloats(), 0f));
    double[] conv = meanStd(v1.get("stem.conv2.weight").toFloats());
    assertEquals(0.02, conv[1], 0.002, "v1 conv weights ~ N(0, 0.02) too");
  }

  /** Every key's fresh value, through WeightInit directly (no training graph needed). */
  static Map<String, HostTensor> fresh(io.resttf.model.RestConfig cfg) {
    Map<String, ParamSpec> specs;
    try (org.tensorflow.Graph g = new org.tensorflow.Graph()) {
      org.tensorflow.op.Ops tf = org.tensorflow.op.Ops.create(g);
      var x = tf.placeholder(org.tensorflow.types.TFloat32.class);
      specs = io.resttf.model.RestNetwork.build(tf, cfg, x).params().specs();
    }
    java.util.SplittableRandom rng = new java.util.SplittableRandom(3);
    Map<String, HostTensor> out = new java.util.LinkedHashMap<>();
    specs.forEach((k, s) -> out.put(k, WeightInit.init(s, cfg.family(), rng)));
    return out;
  }

  static double[] meanStd(float[] v) {
    double s = 0, q = 0;
    for (float f : v) s += f;
    double m = s / v.length;
    for (float f : v) q += (f - m) * (f - m);
    return new double[] {m, Math.sqrt(q / v.length)};
  }

  static boolean allEqual(float[] v, float x) {
    for (float f : v) if (f != x) return false;
    return true;
  }
}
