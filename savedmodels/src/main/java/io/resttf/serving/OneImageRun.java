package io.resttf.serving;

import java.util.function.Supplier;
import org.tensorflow.exceptions.TFInvalidArgumentException;
import org.tensorflow.exceptions.TensorFlowException;

/**
 * One encoded image's run through an in-graph decode loop (classify, preprocess, segment). A bad image fails the run
 * with InvalidArgument, but the loop may report its own cancellation ("Loop execution was cancelled", a plain
 * TensorFlowException) first: which op reports first is a race.
 */
final class OneImageRun {
  private OneImageRun() {}

  /** Runs before the image's own error is taken to be lost behind the loop's cancellation. */
  static final int ATTEMPTS = 3;

  /** TF's CANCELLED status: nothing here cancels a run, so it is the echo of another op's failure in the same run. */
  static boolean cancelled(RuntimeException e) {
    return e instanceof TensorFlowException && e.getMessage() != null && e.getMessage().contains("was cancelled");
  }

  /**
   * Runs {@code run}; if it fails only with the loop's cancellation, runs it again so that the image's own error is
   * what the caller sees; after {@link #ATTEMPTS} the cancellation is thrown as the image's failure, an InvalidArgument.
   */
  static <T> T run(Supplier<T> run) {
    for (int attempt = 1; ; attempt++) {
      try {
        return run.get();
      } catch (TensorFlowException e) {
        if (!cancelled(e)) throw e;
        if (attempt == ATTEMPTS) throw new TFInvalidArgumentException(e.getMessage().strip().lines().findFirst().orElse("cancelled").strip(), e);
      }
    }
  }
}
