package io.resttf.spark;

import com.fasterxml.jackson.databind.JsonNode;
import io.resttf.model.ModelLocation;
import io.resttf.serving.SavedModelExporter;
import io.resttf.tensor.BadInputException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A SavedModel export as the driver resolved it, before any task runs: the version directory (so every
 * executor uses the same version even if a newer one appears mid-job), its number, task and labels. Only
 * the export's metadata is read here; executors load the model itself.
 *
 * @param versionDir the version directory on the driver
 * @param version the version number (the directory's name), or null when it is not a number
 * @param executorDir where executors find the export: the same as {@code versionDir} unless the model is
 *     shipped to them under another path (e.g. {@code spark-submit --archives model.tgz#model})
 */
public record SparkModel(String versionDir, Long version, String task, List<String> labels, String executorDir)
    implements Serializable {

  /**
   * Resolves {@code modelDir} (a model directory: its latest version; or a version directory) and checks that it
   * is a rest-tf export of {@code task} with {@code signature}.
   *
   * @param executorModelDir the model's path on the executors, or null for the same path
   * @throws BadInputException naming the directory and what is wrong with it
   */
  public static SparkModel resolve(String modelDir, String task, String signature, String executorModelDir) {
    Path versionDir = ModelLocation.savedModel(Path.of(modelDir));
    JsonNode m = SavedModelExporter.readMetadata(versionDir);
    String actual = m.path("task").asText(SavedModelExporter.TASK_CLASSIFICATION);
    if (!actual.equals(task)) {
      throw new BadInputException(versionDir + ": a " + actual + " export, not a " + task + " model");
    }
    if (!m.path("signatures").has(signature)) {
      throw new BadInputException(versionDir + ": this export has no " + signature + " signature (export it again)");
    }
    List<String> labels = new ArrayList<>();
    m.path("labels").forEach(n -> labels.add(n.asText()));
    Long version = null;
    String name = versionDir.getFileName().toString();
    if (name.matches("[0-9]{1,18}")) version = Long.parseLong(name);
    String onExecutors = versionDir.toAbsolutePath().toString();
    if (executorModelDir != null) {
      // a model directory shipped as a whole holds the same numbered version; a version directory is itself
      onExecutors = version != null && !Path.of(executorModelDir).endsWith(name)
          ? Path.of(executorModelDir).resolve(name).toString() : executorModelDir;
    }
    return new SparkModel(versionDir.toAbsolutePath().toString(), version, actual, List.copyOf(labels), onExecutors);
  }
}
