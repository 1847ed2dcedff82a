package io.resttf.training;

import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.ConfigDetector;
import io.resttf.convert.Conversion;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.Preprocessing;
import io.resttf.serving.RestClassifier;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
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
  public static ModelSource read(Path path, RestConfig config, CheckpointFiles.ReadProgress progress) {
    if (!Files.exists(path)) throw new BadInputException(path + ": no such file or directory");
    path = path.toAbsolutePath().normalize();
    if (Files.isDirectory(path)) {
      if (Files.isRegularFile(path.resolve(Conversion.CONFIG_FILE)) && Files.isDirectory(path.resolve("checkpoint"))) {
        try (RestModel m = Conversion.openTfCheckpoint(path)) {
          checkConfig(path, config, m.config());
          return new ModelSource(m.stateDict(), m.config(), null, null, path.toString());
        }
      }
      if (Files.isRegularFile(path.resolve(Trainer.RUN_FILE))) return fromSavedModel(runExport(path), config);
      return fromSavedModel(path, config);
    }
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(path, false, progress);
    RestConfig c = config != null ? config : ConfigDetector.detect(w.stateDict()).config();
    return new ModelSource(w.stateDict(), c, null, null, path.toString());
  }

  /** What {@link #read} records as {@link #source()} for {@code path}, without reading any weights. */
  public static String sourceName(Path path) {
    Path p = path.toAbsolutePath().normalize();
    if (!Files.isDirectory(p)) return p.toString();
    if (Files.isRegularFile(p.resolve(Conversion.CONFIG_FILE)) && Files.isDirectory(p.resolve("checkpoint"))) return p.toString();
    if (Files.isRegularFile(p.resolve(Trainer.RUN_FILE))) p = runExport(p);
    if (Files.isRegularFile(p.resolve("saved_model.pb"))) return p.toString();
    List<Long> v = io.resttf.serving.SavedModelExporter.versions(p);
    return v.isEmpty() ? p.toString() : p.resolve(Long.toString(v.get(v.size() - 1))).toString();
  }

  /** The model directory a finished training run exported (RUN/savedmodel/NAME). */
  static Path runExport(Path runDir) {
    Path base = runDir.resolve(Trainer.EXPORT_DIR);
    if (Files.isDirectory(base)) {
      try (java.util.stream.Stream<Path> s = Files.list(base)) {
        List<Path> models = s.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith(".")).toList();
        if (models.size() == 1) return models.get(0);
      } catch (java.io.IOException e) {
        throw new BadInputException(base + ": cannot read (" + e.getMessage() + ")");
      }
    }
    throw new BadInputException(runDir + ": a training run without an export (it exports when it finishes)");
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
