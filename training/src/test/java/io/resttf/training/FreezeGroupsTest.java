package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.model.Variants;
import io.resttf.tensor.BadInputException;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FreezeGroupsTest {
  @Test
  void partsCoverTheirKeysInBothFamilies() {
    List<String> v1 = TrainingGraph.officialKeys(Variants.get("rest_lite"));
    List<String> v2 = TrainingGraph.officialKeys(Variants.get("restv2_tiny"));
    Set<String> f1 = FreezeGroups.keys(List.of("stem", "stage2"), v1);
    assertTrue(f1.contains("stem.conv1.weight") && f1.contains("stem.norm1.running_var") && f1.contains("stem.pos.pa_conv.bias"));
    assertTrue(f1.contains("patch_embed_2.conv.weight") && f1.contains("stage2.1.mlp.fc2.bias"));
    assertTrue(f1.stream().noneMatch(k -> k.startsWith("stage1.") || k.startsWith("patch_embed_3") || k.startsWith("head")));
    Set<String> f2 = FreezeGroups.keys(List.of("stage1", "norm", "head"), v2);
    assertTrue(f2.contains("stage1.0.attn.up.0.weight") && f2.contains("norm.weight") && f2.contains("head.bias"));
    assertTrue(f2.stream().noneMatch(k -> k.startsWith("patch_2") || k.startsWith("stem")));
    assertEquals(v2.size(), FreezeGroups.keys(FreezeGroups.NAMES, v2).size(), "the parts cover the whole model");
    assertThrows(BadInputException.class, () -> FreezeGroups.keys(List.of("trunk"), v2));
  }
}
