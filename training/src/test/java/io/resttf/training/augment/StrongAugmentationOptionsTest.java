package io.resttf.training.augment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.resttf.tensor.BadInputException;
import io.resttf.training.TrainOptions;
import org.junit.jupiter.api.Test;

/** The Mixup / CutMix / random erasing options: off in finetune and fashion, on in paper as the official run, ranges checked. */
class StrongAugmentationOptionsTest {
  @Test
  void offByDefaultAndOnWithAnAlpha() {
    for (String recipe : new String[] {TrainOptions.FINETUNE, TrainOptions.FASHION}) {
      TrainOptions o = TrainOptions.recipe(recipe, 2, 16).validate();
      assertFalse(o.mixing());
      assertEquals(0.0, o.reprob);
      assertEquals(1.0, o.mixupProb);
      assertEquals(0.5, o.mixupSwitchProb);
      var json = o.toJsonNode();
      for (String key : new String[] {"mixup", "cutmix", "mixup_prob", "mixup_switch_prob", "reprob"}) assertTrue(json.has(key), key);
    }
    // The official ImageNet-1K run (TRAINING.md with main.py's defaults).
    TrainOptions paper = TrainOptions.recipe(TrainOptions.PAPER, 2, 16).validate();
    assertTrue(paper.mixing());
    assertEquals(0.8, paper.mixup);
    assertEquals(1.0, paper.cutmix);
    assertEquals(0.25, paper.reprob);
    TrainOptions given = new TrainOptions();
    given.cutmix = 1.0;
    assertTrue(TrainOptions.recipe(TrainOptions.FINETUNE, 2, 16).overriddenBy(given).validate().mixing());
  }

  @Test
  void outOfRangeValuesAreOneClearLine() {
    String[][] cases = {{"reprob", "1.5", "--reprob must be in [0.0, 1.0], got 1.5"}, {"mixup_prob", "-0.1", "--mixup-prob must be in"},
        {"mixup", "-1", "--mixup must be in"}, {"mixup_switch_prob", "2", "--mixup-switch-prob must be in"}};
    for (String[] c : cases) {
      var json = TrainOptions.recipe(TrainOptions.PAPER, 2, 16).toJsonNode();
      json.put(c[0], Double.parseDouble(c[1]));
      BadInputException e = assertThrows(BadInputException.class, () -> TrainOptions.fromJson(json, "test").validate());
      assertTrue(e.getMessage().startsWith(c[2]), e.getMessage());
    }
  }
}
