package io.resttf.cli;

import io.resttf.model.ModelLocation;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code --model DIR}, an exported model, shared by the verbs that run one (a picocli mixin). Whatever the
 * path is ({@link ModelLocation}: a version directory, a model directory, a finished training run, a convert
 * output), it stands for one SavedModel version directory.
 */
final class SavedModelOption {
  @Option(names = "--model", required = true, paramLabel = "DIR",
      description = "a SavedModel: a version directory, a model directory (its highest version), a finished training"
          + " run (its export) or a directory written by convert")
  Path model;

  /** The path as given (RestClassifier.open resolves it with the same locator). */
  Path path() {
    return model;
  }

  /** The SavedModel version directory the path stands for; a one-line BadInputException otherwise. */
  Path versionDir() {
    return ModelLocation.savedModel(model);
  }
}
