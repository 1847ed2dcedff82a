package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The schedules at the points where torch's OneCycleLR and ConvNeXt's cosine_scheduler pin them down,
 * and against those formulas evaluated independently here.
 */
class LrScheduleTest {
  @Test
  void oneCycleAsTorch() {
    // the official Fashion-MNIST run: 468 × 4 steps, max_lr 2e-3, pct_start 0.1, div 25, final div 1e4
    long total = 468 * 4;
    LrSchedule s = LrSchedule.oneCycle(2e-3, total, 0.1, 25, 1e4, true, 0.85, 0.95, 0.9);
    assertEquals(2e-3 / 25, s.lr(0), 1e-18, "starts at max_lr / div_factor");
    assertEquals(0.95, s.beta1(0), 1e-15, "momentum starts at max_momentum");
    double end1 = 0.1 * total - 1; // 186.2: the peak lies between steps 186 and 187
    assertTrue(s.lr(186) < 2e-3 && s.lr(187) < 2e-3 && s.lr(186) > s.lr(185) && s.lr(187) > s.lr(188));
    assertEquals(2e-3 / 25 / 1e4, s.lr(total - 1), 1e-18, "ends at initial / final_div_factor");
    assertEquals(0.95, s.beta1(total - 1), 1e-12);
    // phase 2 in between, written out: min + (max - min)/2 (1 + cos(pi pct))
    long step = 1000;
    double pct = (step - end1) / (total - 1 - end1);
    double min = 2e-3 / 25 / 1e4;
    assertEquals(min + (2e-3 - min) / 2 * (1 + Math.cos(Math.PI * pct)), s.lr(step), 1e-15);
    assertEquals(0.95 + (0.85 - 0.95) / 2 * (1 + Math.cos(Math.PI * pct)), s.beta1(step), 1e-15);
    // phase 1 likewise
    double pct1 = 50 / end1;
    assertEquals(2e-3 + (8e-5 - 2e-3) / 2 * (1 + Math.cos(Math.PI * pct1)), s.lr(50), 1e-15);
  }

  @Test
  void oneCycleOfFewStepsStaysFinite() {
    // 10 steps with pct_start 0.1: the warm-up phase has zero length (torch divides by zero)
    LrSchedule s = LrSchedule.oneCycle(2e-3, 10, 0.1, 25, 1e4, true, 0.85, 0.95, 0.9);
    for (int i = 0; i < 10; i++) assertTrue(Double.isFinite(s.lr(i)) && Double.isFinite(s.beta1(i)), "step " + i);
    assertEquals(2e-3, s.lr(0), 1e-15);
    assertEquals(2e-3 / 25 / 1e4, s.lr(9), 1e-18);
  }

  @Test
  void cosineWithWarmupAsConvNeXt() {
    // 10 epochs × 100 steps, 2 warm-up epochs: np.linspace(0, base, 200), then cosine over 800 steps
    LrSchedule s = LrSchedule.cosine(1e-3, 1e-6, 1000, 200, 0.9);
    assertEquals(0.0, s.lr(0), 0.0);
    assertEquals(1e-3 * 100 / 199, s.lr(100), 1e-15);
    assertEquals(1e-3, s.lr(199), 1e-15, "linspace includes its end");
    assertEquals(1e-3, s.lr(200), 1e-15, "cosine starts at base");
    assertEquals(1e-6 + 0.5 * (1e-3 - 1e-6) * (1 + Math.cos(Math.PI * 400 / 800)), s.lr(600), 1e-15);
    assertTrue(s.lr(999) > 1e-6 && s.lr(999) < 1.01e-6);
    assertEquals(0.9, s.beta1(500), 0.0);
  }

  @Test
  void recipesPickTheirSchedules() {
    TrainOptions paper = TrainOptions.recipe(TrainOptions.PAPER, 30, 512).validate();
    assertEquals(1.5e-4 * 512 / 256, paper.lr, 1e-15, "linear scaling rule of the papers");
    assertEquals(5.0, paper.warmupEpochs, 0.0, "the official 50 warm-up epochs of 300, in proportion");
    assertEquals(3.0, TrainOptions.recipe(TrainOptions.FINETUNE, 30, 512).warmupEpochs, 0.0);
    assertEquals(0.0, paper.schedule(10).lr(0), 0.0);
    TrainOptions fashion = TrainOptions.recipe(TrainOptions.FASHION, 4, 128).validate();
    assertEquals(2e-3 / 25, fashion.schedule(468).lr(0), 1e-18);
    assertTrue(fashion.decayAll);
    assertEquals(0.05, fashion.dropPath, 0.0);
  }
}
