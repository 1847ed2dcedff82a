package io.resttf.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.HostTensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The layout transforms put each official element where TF reads it, and invert exactly. */
class WeightMappingTest {
  static final RestConfig V2 = Variants.get("restv2_tiny");

  static HostTensor random(long... shape) {
    float[] v = new float[(int) HostTensor.numElements(shape)];
    SplittableRandom r = new SplittableRandom(7);
    for (int i = 0; i < v.length; i++) v[i] = (float) r.nextDouble();
    return HostTensor.ofFloats(shape, v);
  }

  @Test
  void layoutsByKey() {
    assertEquals(WeightMapping.Layout.LINEAR, WeightMapping.layout("stage3.1.attn.kv.weight"));
    assertEquals(WeightMapping.Layout.LINEAR, WeightMapping.layout("head.weight"));
    assertEquals(WeightMapping.Layout.CONV, WeightMapping.layout("stem.proj.6.weight"));
    assertEquals(WeightMapping.Layout.CONV, WeightMapping.layout("patch_embed_3.conv.weight"));
    assertEquals(WeightMapping.Layout.DEPTHWISE, WeightMapping.layout("stage1.0.attn.up.0.weight"));
    assertEquals(WeightMapping.Layout.DEPTHWISE, WeightMapping.layout("patch_2.pos.pa_conv.weight"));
    assertEquals(WeightMapping.Layout.HEAD_MIX, WeightMapping.layout("stage2.0.attn.transform_conv.weight"));
    assertEquals(WeightMapping.Layout.IDENTITY, WeightMapping.layout("stage2.0.norm1.weight"));
    assertTrue(WeightMapping.tfName("stem.proj.1.num_batches_tracked").isEmpty());
  }

  @Test
  void elementsLandWhereTfReadsThem() {
    // Linear [out=3, in=5] → [in, out]
    HostTensor lin = random(3, 5);
    HostTensor t = WeightMapping.toTf("stage1.0.attn.q.weight", lin, V2);
    assertArrayEquals(new long[] {5, 3}, t.shape());
    assertEquals(lin.toFloats()[2 * 5 + 4], t.toFloats()[4 * 3 + 2]);
    // Conv [O=4, I=2, 3, 3] → [3, 3, I, O]
    HostTensor conv = random(4, 2, 3, 3);
    t = WeightMapping.toTf("stem.proj.3.weight", conv, V2);
    assertArrayEquals(new long[] {3, 3, 2, 4}, t.shape());
    int o = 3, i = 1, y = 2, x = 0;
    assertEquals(conv.toFloats()[((o * 2 + i) * 3 + y) * 3 + x], t.toFloats()[((y * 3 + x) * 2 + i) * 4 + o]);
    // depthwise up branch of stage 2 (r = 4): [C·16, 1, 3, 3] → [3, 3, C, 16]; out channel c·16 + j
    HostTensor up = random(2 * 16, 1, 3, 3);
    t = WeightMapping.toTf("stage2.0.attn.up.0.weight", up, V2);
    assertArrayEquals(new long[] {3, 3, 2, 16}, t.shape());
    int c = 1, j = 5;
    assertEquals(up.toFloats()[((c * 16 + j) * 3 + y) * 3 + x], t.toFloats()[((y * 3 + x) * 2 + c) * 16 + j]);
  }

  @Test
  void toOfficialInvertsToTf() {
    String[] keys = {"stage1.0.mlp.fc1.weight", "stem.proj.0.weight", "stage1.0.attn.up.0.weight",
        "stage2.0.attn.transform_conv.weight", "stage1.0.attn.sr.weight", "norm.bias"};
    long[][] shapes = {{384, 96}, {48, 3, 3, 3}, {96 * 64, 1, 3, 3}, {2, 2, 1, 1}, {96, 1, 9, 9}, {768}};
    for (int k = 0; k < keys.length; k++) {
      HostTensor off = random(shapes[k]);
      HostTensor back = WeightMapping.toOfficial(keys[k], WeightMapping.toTf(keys[k], off, V2), shapes[k]);
      assertArrayEquals(off.toFloats(), back.toFloats(), keys[k]);
    }
  }
}
