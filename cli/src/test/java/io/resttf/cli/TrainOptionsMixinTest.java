package io.resttf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.resttf.training.TrainOptions;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** train's options land in TrainOptions as given; what was not given stays null (the recipe's or the resumed run's). */
class TrainOptionsMixinTest {
  @Test
  void givenOptionsGoStraightIntoTrainOptions() {
    TrainCommand train = new TrainCommand();
    new CommandLine(train).parseArgs("--epochs", "3", "--lr", "0.01", "--freeze", "stem,head", "--no-ema",
        "--recipe", "fashion", "--seed", "7", "--warmup-epochs", "0.5");
    TrainOptions g = train.trainOptions.given();
    assertEquals(3, g.epochs);
    assertEquals(0.01, g.lr);
    assertEquals(List.of("stem", "head"), g.freeze);
    assertEquals(false, g.ema);
    assertEquals("fashion", g.recipe);
    assertEquals(7L, g.seed);
    assertEquals(0.5, g.warmupEpochs);
    assertNull(g.batch);
    assertNull(g.weightDecay);
    assertNull(g.export);
    TrainOptions merged = TrainOptions.recipe("fashion", 3, 8).overriddenBy(g);
    assertEquals(0.01, merged.lr);
    assertEquals(8, merged.batch);
  }
}
