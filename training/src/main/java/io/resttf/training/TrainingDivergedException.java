package io.resttf.training;

import io.resttf.tensor.BadInputException;

/**
 * The loss or the gradient became NaN or infinite: the run stops without writing a checkpoint, so the
 * last good one stays as it was. A bad-input error (exit code 2 in the CLI): the learning rate or the
 * data is what has to change.
 */
public final class TrainingDivergedException extends BadInputException {
  public TrainingDivergedException(String message) {
    super(message);
  }
}
