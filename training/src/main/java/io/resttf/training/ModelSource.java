package io.resttf.training;

import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.ConfigDetector;
import io.resttf.convert.Conversion;
import io.resttf.model.ModelLocation;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.Preprocessing;
import io.resttf.serving.RestClassifier;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.ReadProgress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Weights to start a fine-tuning run from, with their config and, when the source records them, the
 * labels and evaluation preprocessing.
 *
 * @param stateDict     official keys and layouts
 * @param config        the model the weights are for
 * @param labels        class names of the head (null if unknown)
 * @param preprocessing evaluation preprocessing (null if unknown)
 * @param source        what was read, for the run's records
 */
public record ModelSource(Map<String, HostTensor> stateDict, RestConfig config, List<String> labels,
    Preprocessing preprocessing, String source) {

  /**
   * Reads {@code path}: a SavedModel export (version or model directory), a finished training run
   * directory (its export), a directory written by {@code convert} (config.json + TF checkpoint), or an
   * official .pth / .safetensors file (config from {@code config} when given, else detected from the
   * shapes).
   */
  public static ModelSource read(Path path, RestConfig config, ReadProgress progress) {
    ModelLocation where = ModelLocation.of(path.toAbsolutePath().normalize());
    Path p = where.path();
    switch (where.kind()) {
      case CONVERT_OUTPUT -> {
        try (RestModel m = Conversion.openTfCheckpoint(p)) {
          checkConfig(p, config, m.config());
          return new ModelSource(m.stateDict(), m.config(), null, null, p.toString());
        }
      }
      case CHECKPOINT_FILE -> {
        CheckpointFiles.LoadedWeights w = CheckpointFiles.read(p, false, progress);
        RestConfig c = config != null ? config : ConfigDetector.detect(w.stateDict()).config();
        return new ModelSource(w.stateDict(), c, null, null, p.toString());
      }
      default -> {
        return fromSavedModel(where.versionDirectory(), config);
      }
    }
  }

  /**
   * What {@link #read} records as {@link #source()} for {@code path}, without reading any weights: the file
   * or convert output itself, else the SavedModel version directory it stands for. A path that is gone (a
   * resumed run's record of it) is named as given.
   */
  public static String sourceName(Path path) {
    Path p = path.toAbsolutePath().normalize();
    if (!Files.exists(p)) return p.toString();
    ModelLocation where = ModelLocation.of(p);
    return switch (where.kind()) {
      case CHECKPOINT_FILE, CONVERT_OUTPUT -> p.toString();
      default -> where.versionDirectory().toString();
    };
  }

  private static ModelSource fromSavedModel(Path dir, RestConfig config) {
    RestConfig c;
    List<String> labels;
    Preprocessing pre;
    Path versionDir;
    try (RestClassifier cl = RestClassifier.open(dir)) {
      c = cl.config();
      labels = cl.labels();
      pre = cl.preprocessing();
      versionDir = cl.directory();
    }
    checkConfig(dir, config, c);
    try (RestModel m = RestModel.create(c)) {
      m.restoreCheckpoint(versionDir.resolve("variables").resolve("variables"));
      return new ModelSource(m.stateDict(), c, labels, pre, versionDir.toString());
    }
  }

  private static void checkConfig(Path path, RestConfig given, RestConfig found) {
    if (given != null && !given.equals(found)) {
      throw new BadInputException(path + ": holds a model whose config differs from the one given (" + found.toJson()
          .replaceAll("\\s+", " ") + ")");
    }
  }
}
