package io.resttf.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.tensorflow.exceptions.TFInvalidArgumentException;
import org.tensorflow.exceptions.TensorFlowException;

/**
 * One image's run when TF reports the decode loop's cancellation instead of the image's own error (a race seen in
 * CI: "Loop execution was cancelled. [[{{node preprocess_loop/LoopCond}}]]" for a broken PNG run alone).
 */
class RunAloneTest {
  private static final String CANCELLED = "Loop execution was cancelled.\n\t [[{{node preprocess_loop/LoopCond}}]]";

  @Test
  void aCancellationIsRunAgainUntilTheImagesOwnErrorShows() {
    AtomicInteger runs = new AtomicInteger();
    TFInvalidArgumentException own = new TFInvalidArgumentException("Invalid PNG data, size 120\n\t [[{{node preprocess_loop/DecodePng}}]]");
    TFInvalidArgumentException e = assertThrows(TFInvalidArgumentException.class, () -> OneImageRun.run(() -> {
      if (runs.incrementAndGet() == 1) throw new TensorFlowException(CANCELLED);
      throw own;
    }));
    assertSame(own, e);
    assertEquals(2, runs.get());
    assertEquals("cannot decode image: Invalid PNG data, size 120", RestClassifier.imageError(e));
  }

  @Test
  void aRunThatSucceedsAfterACancellationGivesItsResult() {
    AtomicInteger runs = new AtomicInteger();
    assertEquals("ok", OneImageRun.run(() -> {
      if (runs.incrementAndGet() == 1) throw new TensorFlowException(CANCELLED);
      return "ok";
    }));
    assertEquals(2, runs.get());
  }

  @Test
  void onlyCancellationsBecomeTheImagesFailureAfterTheLastAttempt() {
    AtomicInteger runs = new AtomicInteger();
    TFInvalidArgumentException e = assertThrows(TFInvalidArgumentException.class, () -> OneImageRun.run(() -> {
      runs.incrementAndGet();
      throw new TensorFlowException(CANCELLED);
    }));
    assertEquals(OneImageRun.ATTEMPTS, runs.get());
    assertEquals("cannot decode image: Loop execution was cancelled.", RestClassifier.imageError(e));
  }

  @Test
  void otherFailuresAreNotRetriedNorBlamedOnTheImage() {
    AtomicInteger runs = new AtomicInteger();
    TensorFlowException other = new TensorFlowException("OOM when allocating tensor");
    assertSame(other, assertThrows(TensorFlowException.class, () -> OneImageRun.run(() -> {
      runs.incrementAndGet();
      throw other;
    })));
    assertEquals(1, runs.get());
  }
}
