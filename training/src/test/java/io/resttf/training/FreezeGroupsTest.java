package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.model.Family;
import io.resttf.model.RestConfig;
import io.resttf.model.RestNetwork;
import io.resttf.model.Variants;
import io.resttf.tensor.BadInputException;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class FreezeGroupsTest {
  /** The keys of {@code config} that {@code --freeze groups} freezes, as the training spec decides them. */
  private static Set<String> frozen(RestConfig config, List<String> groups) {
    TrainingGraph.Spec spec = TrainingGraph.Spec.of(config).withFrozenGroups(groups);
    return RestNetwork.parameters(config).keySet().stream().filter(spec.frozen()).collect(Collectors.toSet());
  }

  @Test
  void partsCoverTheirKeysInBothFamilies() {
    RestConfig v1 = Variants.get("rest_lite"), v2 = Variants.get("restv2_tiny");
    Set<String> f1 = frozen(v1, List.of("stem", "stage2"));
    assertTrue(f1.contains("stem.conv1.weight") && f1.contains("stem.norm1.running_var") && f1.contains("stem.pos.pa_conv.bias"));
    assertTrue(f1.contains("patch_embed_2.conv.weight") && f1.contains("stage2.1.mlp.fc2.bias"));
    assertTrue(f1.stream().noneMatch(k -> k.startsWith("stage1.") || k.startsWith("patch_embed_3") || k.startsWith("head")));
    Set<String> f2 = frozen(v2, List.of("stage1", "norm", "head"));
    assertTrue(f2.contains("stage1.0.attn.up.0.weight") && f2.contains("norm.weight") && f2.contains("head.bias"));
    assertTrue(f2.stream().noneMatch(k -> k.startsWith("patch_2") || k.startsWith("stem")));
    assertEquals(RestNetwork.parameters(v2).size(), frozen(v2, FreezeGroups.NAMES).size(), "the parts cover the whole model");
    assertThrows(BadInputException.class, () -> TrainingGraph.Spec.of(v2).withFrozenGroups(List.of("trunk")));
  }

  @Test
  void theTrainingGraphFreezesTheGroupsKeysOfItsOwnNetwork() {
    RestConfig micro = RestConfig.of(Family.V2, List.of(16, 32, 32, 32), List.of(1, 2, 2, 2), List.of(1, 1, 1, 1),
        List.of(2, 2, 1, 1), List.of(4, 4, 4, 4), 10, 3);
    List<String> groups = List.of("stem", "stage3");
    try (TrainingGraph g = TrainingGraph.build(TrainingGraph.Spec.of(micro).withFrozenGroups(groups), null)) {
      assertEquals(frozen(micro, groups), Set.copyOf(g.frozenKeys()));
      assertTrue(g.frozenKeys().contains("stem.proj.0.weight") && g.frozenKeys().stream().noneMatch(k -> k.startsWith("stage2.")));
    }
  }
}
