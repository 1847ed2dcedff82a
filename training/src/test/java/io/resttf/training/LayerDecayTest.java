package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Layer ids as the official get_layer_id_for_rest assigns them, written out for restv2_tiny (depths 1, 2, 6, 2; L = 15). */
class LayerDecayTest {
  static final List<Integer> TINY = List.of(1, 2, 6, 2);

  @Test
  void layerIdsFollowTheOfficialFunction() {
    String[][] ids = {
        {"stem.proj.0.weight", "0"}, {"stage1.0.attn.q.weight", "1"}, {"patch_2.proj.weight", "2"}, {"stage2.0.norm1.weight", "3"},
        {"stage2.1.mlp.fc1.bias", "4"}, {"patch_3.norm.bias", "5"}, {"stage3.0.attn.sr.weight", "6"}, {"stage3.5.mlp.fc2.weight", "11"},
        {"patch_4.proj.weight", "12"}, {"stage4.0.attn.proj.weight", "13"}, {"stage4.1.norm2.bias", "14"}, {"norm.weight", "15"},
        {"head.weight", "15"},
        // ResT v1's names take v2's ids (the official function would fail on them)
        {"patch_embed_3.proj.weight", "5"}, {"patch_embed_4.norm.running_mean", "12"},
    };
    for (String[] c : ids) assertEquals(Integer.parseInt(c[1]), LayerDecay.layerId(c[0], TINY), c[0]);
    assertEquals(15, LayerDecay.layers(TINY));
    assertEquals(Math.pow(0.75, 15), LayerDecay.scale("stem.proj.0.weight", TINY, 0.75), 1e-15);
    assertEquals(Math.pow(0.75, 2), LayerDecay.scale("stage4.0.attn.proj.weight", TINY, 0.75), 1e-15);
    assertEquals(1.0, LayerDecay.scale("head.weight", TINY, 0.75));
    assertEquals(1.0, LayerDecay.scale("stem.proj.0.weight", TINY, 1.0));
  }

  @Test
  void groupsCountParametersPerLayer() {
    List<LayerDecay.Group> g = LayerDecay.groups(List.of("stem.proj.0.weight", "stem.proj.1.weight", "head.weight", "head.bias", "norm.weight"),
        TINY, 0.5);
    assertEquals(List.of(new LayerDecay.Group(0, Math.pow(0.5, 15), 2), new LayerDecay.Group(15, 1.0, 3)), g);
    assertEquals("layer 0 ×3.052e-05 (2)", g.get(0).toString());
  }
}
