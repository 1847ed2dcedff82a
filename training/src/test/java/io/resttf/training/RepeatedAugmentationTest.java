package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.resttf.tensor.BadInputException;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Repeated augmentation against timm's RepeatAugSampler on one process (num_replicas 1, rank 0):
 * indices = repeat_interleave(randperm(n), num_repeats)[: n // 256 * 256].
 */
class RepeatedAugmentationTest {
  @Test
  void eachShuffledIndexRepeatsInARowAndTheEpochIsCutToMultiplesOf256() {
    int n = 1000, repeats = 3;
    int[] perm = Seeds.permutation(n, Seeds.rng(7, Seeds.Stream.ORDER, 4, 0));
    int[] order = StepInputs.epochOrder(n, repeats, 7, 4);
    assertEquals(768, order.length); // 1000 // 256 * 256
    for (int i = 0; i < order.length; i++) assertEquals(perm[i / repeats], order[i], "position " + i);
    Set<Integer> distinct = new HashSet<>();
    for (int i : order) distinct.add(i);
    assertEquals(256, distinct.size()); // ceil(768 / 3)
    assertEquals(768 / 16, StepInputs.samplesPerEpoch(n, repeats) / 16);
  }

  @Test
  void offIsThePlainShuffleAndEpochsDiffer() {
    assertArrayEquals(Seeds.permutation(300, Seeds.rng(1, Seeds.Stream.ORDER, 2, 0)), StepInputs.epochOrder(300, 0, 1, 2));
    assertEquals(300, StepInputs.samplesPerEpoch(300, 0));
    assertNotEquals(java.util.Arrays.toString(StepInputs.epochOrder(600, 3, 1, 0)),
        java.util.Arrays.toString(StepInputs.epochOrder(600, 3, 1, 1)));
  }

  @Test
  void aSetSmallerThanOneRoundKeepsItsSize() {
    int[] order = StepInputs.epochOrder(100, 2, 0, 0);
    assertEquals(100, order.length);
    for (int i = 0; i < 100; i += 2) assertEquals(order[i], order[i + 1]);
  }

  @Test
  void outOfRangeIsRefused() {
    TrainOptions given = new TrainOptions();
    given.augRepeats = 17;
    TrainOptions o = TrainOptions.recipe(TrainOptions.PAPER, 1, 2).overriddenBy(given);
    assertEquals("--aug-repeats must be in [0, 16] (0: off; DeiT's 3), got 17",
        assertThrows(BadInputException.class, o::validate).getMessage());
    assertEquals(0, TrainOptions.recipe(TrainOptions.PAPER, 1, 2).augRepeats);
  }
}
