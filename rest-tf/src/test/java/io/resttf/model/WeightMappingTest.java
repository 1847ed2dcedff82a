package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.HostTensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/** The layout transforms, chosen by each parameter's declared kind, put each official element where TF reads it, and invert exactly. */
class WeightMappingTest {
  static final RestConfig V2 = Variants.get("restv2_tiny");

  static HostTensor random(long... shape) {
    float[] v = new float[(int) HostTensor.numElements(shape)];
    SplittableRandom r = new SplittableRandom(7);
    for (int i = 0; i < v.length; i++) v[i] = (float) r.nextDouble();
    return HostTensor.ofFloats(shape, v);
  }

  /** The kinds the layers declare, read off built networks of both families (no key decides them). */
  @Test
  void layersDeclareTheirKinds() {
    Map<String, ParamKind> v2 = kinds(V2), v1 = kinds(Variants.get("rest_lite"));
    assertEquals(ParamKind.LINEAR, v2.get("stage3.1.attn.kv.weight"));
    assertEquals(ParamKind.LINEAR, v2.get("head.weight"));
    assertEquals(ParamKind.LINEAR_BIAS, v2.get("head.bias"));
    assertEquals(ParamKind.CONV, v2.get("stem.proj.6.weight"));
    assertEquals(ParamKind.CONV, v1.get("patch_embed_3.conv.weight"));
    assertEquals(ParamKind.CONV_BIAS, v1.get("patch_embed_3.conv.bias"));
    assertEquals(ParamKind.DEPTHWISE, v2.get("stage1.0.attn.up.0.weight"));
    assertEquals(ParamKind.DEPTHWISE, v2.get("patch_2.pos.pa_conv.weight"));
    assertEquals(ParamKind.HEAD_MIX, v1.get("stage2.0.attn.transform_conv.weight"));
    assertEquals(ParamKind.NORM_WEIGHT, v2.get("stage2.0.norm1.weight"));
    assertEquals(ParamKind.RUNNING_VAR, v2.get("stem.proj.1.running_var"));
    assertTrue(WeightMapping.tfName("stem.proj.1.num_batches_tracked").isEmpty());
  }

  static Map<String, ParamKind> kinds(RestConfig config) {
    Map<String, ParamKind> out = new LinkedHashMap<>();
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      RestNetwork.build(tf, config, tf.placeholder(TFloat32.class)).params().all().forEach((k, p) -> out.put(k, p.kind()));
    }
    return out;
  }

  @Test
  void elementsLandWhereTfReadsThem() {
    // Linear [out=3, in=5] → [in, out]
    HostTensor lin = random(3, 5);
    HostTensor t = WeightMapping.toTf(ParamSpec.linear("stage1.0.attn.q.weight", 3, 5), lin);
    assertArrayEquals(new long[] {5, 3}, t.shape());
    assertEquals(lin.toFloats()[2 * 5 + 4], t.toFloats()[4 * 3 + 2]);
    // Conv [O=4, I=2, 3, 3] → [3, 3, I, O]
    HostTensor conv = random(4, 2, 3, 3);
    t = WeightMapping.toTf(ParamSpec.conv("stem.proj.3.weight", 4, 2, 3, 3), conv);
    assertArrayEquals(new long[] {3, 3, 2, 4}, t.shape());
    int o = 3, i = 1, y = 2, x = 0;
    assertEquals(conv.toFloats()[((o * 2 + i) * 3 + y) * 3 + x], t.toFloats()[((y * 3 + x) * 2 + i) * 4 + o]);
    // depthwise up branch of stage 2 (r = 4): [C·16, 1, 3, 3] → [3, 3, C, 16]; out channel c·16 + j
    HostTensor up = random(2 * 16, 1, 3, 3);
    t = WeightMapping.toTf(ParamSpec.depthwise("stage2.0.attn.up.0.weight", 2, 16, 3), up);
    assertArrayEquals(new long[] {3, 3, 2, 16}, t.shape());
    int c = 1, j = 5;
    assertEquals(up.toFloats()[((c * 16 + j) * 3 + y) * 3 + x], t.toFloats()[((y * 3 + x) * 2 + c) * 16 + j]);
  }

  @Test
  void toOfficialInvertsToTf() {
    ParamSpec[] specs = {ParamSpec.linear("stage1.0.mlp.fc1.weight", 384, 96), ParamSpec.conv("stem.proj.0.weight", 48, 3, 3, 3),
        ParamSpec.depthwise("stage1.0.attn.up.0.weight", 96, 64, 3), ParamSpec.headMix("stage2.0.attn.transform_conv.weight", 2),
        ParamSpec.depthwise("stage1.0.attn.sr.weight", 96, 1, 9), ParamSpec.vector("norm.bias", ParamKind.NORM_BIAS, 768)};
    for (ParamSpec p : specs) {
      HostTensor off = random(p.officialShape());
      HostTensor back = WeightMapping.toOfficial(p, WeightMapping.toTf(p, off));
      assertArrayEquals(off.toFloats(), back.toFloats(), p.key());
    }
  }

  @Test
  void refusesATensorOfAnotherShape() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> WeightMapping.toTf(ParamSpec.linear("head.weight", 10, 8), random(8, 10)));
    assertTrue(e.getMessage().startsWith("head.weight: expected shape [10, 8]"), e.getMessage());
  }
}
