package io.resttf.training;

import java.nio.file.Path;

/**
 * What a run reports while it works, so a front end can draw progress (the CLI's bar) without the
 * training code printing anything. Called on the training thread; keep it quick.
 */
public interface TrainingListener {
  /** Before the first step: the run's shape and where it starts ({@code startStep} > 0 when resumed). */
  default void onStart(Trainer.Plan plan) {}

  default void onEpochStart(int epoch, int epochs, int stepsPerEpoch, int firstStepInEpoch) {}

  default void onStep(StepEvent e) {}

  /** An evaluation pass: {@code done} of {@code total} images (called per batch). */
  default void onEvalProgress(String what, long done, long total) {}

  default void onEvaluated(EvalEvent e) {}

  default void onEpochEnd(EpochEvent e) {}

  default void onCheckpoint(Path dir, long step) {}

  /** Something the user should know that does not stop the run (e.g. an image that could not be decoded). */
  default void onWarning(String message) {}

  default void onExport(Path dir) {}

  /** One optimisation step. {@code stepInEpoch} counts from 1. */
  record StepEvent(int epoch, int epochs, int stepInEpoch, int stepsPerEpoch, long step, long totalSteps, double loss,
      double lr, double gradNorm, double imagesPerSecond, double secondsPerStep) {}

  /** An evaluation of {@code weights} ("model" or "ema") after {@code step} steps. */
  record EvalEvent(int epoch, long step, String weights, double loss, double top1, double top5, long images) {}

  /** The end of an epoch: mean training loss and accuracy over its steps. */
  record EpochEvent(int epoch, int epochs, long step, double trainLoss, double trainTop1, double seconds,
      double imagesPerSecond, long decodeErrors) {}
}
