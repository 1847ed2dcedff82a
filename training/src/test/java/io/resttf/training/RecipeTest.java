package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.tensor.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The presets (the official commands' values) and recipe files (a run's recipe.json back in; strict about keys). */
class RecipeTest {
  @Test
  void paperIsTheOfficialImageNetRecipe() {
    TrainOptions p = TrainOptions.recipe(TrainOptions.PAPER, 300, 256).validate();
    assertEquals(1.5e-4, p.lr, 1e-18, "TRAINING.md --lr 1.5e-4 at batch 256, main.py: lr * batch / 256");
    assertEquals(50.0, p.warmupEpochs, 1e-12, "TRAINING.md --warmup_epochs 50 of 300");
    assertEquals(1e-6, p.minLr);
    assertEquals(0.05, p.weightDecay);
    assertFalse(p.decayAll, "official parameter groups: no decay on 1-d parameters and biases");
    assertEquals(1.0, p.clipNorm);
    assertEquals(0.1, p.labelSmoothing);
    assertTrue(p.ema);
    assertEquals(0.9999, p.emaDecay);
    assertEquals("rand-m9-mstd0.5-inc1", p.aa);
    assertEquals(0.8, p.mixup);
    assertEquals(1.0, p.cutmix);
    assertEquals(1.0, p.mixupProb);
    assertEquals(0.5, p.mixupSwitchProb);
    assertEquals(0.25, p.reprob);
    assertEquals(TrainOptions.RRC_FLIP, p.augment);
    assertEquals(0.08, p.rrcMinScale);
    assertNull(p.dropPath, "the model's drop path rate");

    TrainOptions f = TrainOptions.recipe(TrainOptions.FINETUNE_384, 30, 512).validate();
    assertEquals(1.5e-5 * 2, f.lr, 1e-18, "TRAINING.md 384: --lr 1.5e-5, 8 x 64 images per step");
    assertEquals(0.0, f.warmupEpochs);
    assertEquals(1e-8, f.weightDecay);
    assertFalse(f.mixing(), "--cutmix 0 --mixup 0");
    assertEquals("rand-m9-mstd0.5-inc1", f.aa);
    assertEquals(0.25, f.reprob);
    assertFalse(TrainOptions.recipe(TrainOptions.FINETUNE, 10, 32).mixing());
  }

  @Test
  void aRunsRecipeFileGivesTheSameOptionsBack(@TempDir Path tmp) throws Exception {
    TrainOptions p = TrainOptions.recipe(TrainOptions.PAPER, 12, 64);
    p.lr = 3e-4;
    Path file = tmp.resolve("recipe.json");
    Files.writeString(file, TrainOptions.JSON.writeValueAsString(p.toJsonNode()));
    TrainOptions back = TrainOptions.recipe("recipe.json", null, null, file).validate();
    ObjectNode a = p.toJsonNode(), b = back.toJsonNode();
    a.remove("recipe");
    b.remove("recipe");
    assertEquals(a, b);
    assertEquals("recipe.json", back.recipe);
    assertEquals(20, TrainOptions.recipe("recipe.json", 20, null, file).epochs, "--epochs wins over the file");

    Path over = tmp.resolve("over.json");
    Files.writeString(over, "{\"base\": \"finetune\", \"epochs\": 3, \"batch\": 32, \"mixup\": 0.2, \"aa\": \"rand-m5-n1\"}");
    TrainOptions o = TrainOptions.recipe("over.json", null, null, over).validate();
    assertEquals(0.2, o.mixup);
    assertEquals("rand-m5-n1", o.aa);
    assertEquals(1.5e-4 * 32 / 256, o.lr, 1e-18, "the base's batch scaling");
  }

  @Test
  void badRecipeFilesAreOneClearLine(@TempDir Path tmp) throws Exception {
    String[][] cases = {
        {"{\"base\": \"finetune\", \"epochs\": 1, \"batch\": 2, \"lrr\": 1e-3}", "unknown option \"lrr\" (did you mean \"lr\"?)"},
        {"{\"base\": \"finetune\", \"epochs\": 1, \"batch\": 2, \"mixup\": \"lots\"}", "option \"mixup\" must be a number, got \"lots\""},
        {"{\"base\": \"finetune\", \"epochs\": 1.5, \"batch\": 2}", "option \"epochs\" must be an integer, got 1.5"},
        {"{\"base\": \"finetune\", \"epochs\": 1, \"batch\": 2, \"ema\": \"yes\"}", "option \"ema\" must be true or false"},
        {"{\"base\": \"imagenet\", \"epochs\": 1, \"batch\": 2}", "base \"imagenet\" is no preset (paper, finetune, finetune-384, fashion)"},
        {"{\"base\": \"finetune\", \"batch\": 2}", "give epochs and batch"},
        {"{\"epochs\": 1, \"batch\": 2, \"lr\": 0.001}", "missing "},
        {"[1, 2]", "a recipe is a JSON object of options"},
        {"{\"epochs\": ", "not valid JSON"},
    };
    for (String[] c : cases) {
      Path f = tmp.resolve("r.json");
      Files.writeString(f, c[0]);
      BadInputException e = assertThrows(BadInputException.class, () -> TrainOptions.recipe("r.json", null, null, f));
      assertTrue(e.getMessage().startsWith(f + ": ") && e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
      assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
    Path range = tmp.resolve("range.json");
    Files.writeString(range, "{\"base\": \"paper\", \"epochs\": 1, \"batch\": 2, \"reprob\": 1.5}");
    assertEquals("--reprob must be in [0.0, 1.0], got 1.5",
        assertThrows(BadInputException.class, () -> TrainOptions.recipe("range.json", null, null, range).validate()).getMessage());
  }
}
