package io.resttf.model;

import io.resttf.tensor.BadInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What a path given for a model is, decided from the file system alone, and where its parts are. The one
 * answer to "what is this path?" for every verb and for the Java API:
 *
 * <ul>
 *   <li>{@link Kind#CHECKPOINT_FILE}: a regular file (an official .pth / .safetensors / … checkpoint; its
 *       reader checks the content);
 *   <li>{@link Kind#VERSION_DIRECTORY}: a SavedModel ({@value #SAVED_MODEL_PB} in it);
 *   <li>{@link Kind#MODEL_DIRECTORY}: TF Serving's layout NAME/VERSION, numbered versions holding SavedModels;
 *   <li>{@link Kind#RUN_DIRECTORY}: a training run ({@value #RUN_FILE}; its export is
 *       {@value #RUN_EXPORT_DIR}/NAME once it finished);
 *   <li>{@link Kind#CONVERT_OUTPUT}: what {@code convert} writes ({@value #CONFIG_FILE} + a TF checkpoint in
 *       {@value #CHECKPOINT_DIR}/, and a SavedModel under {@value #CONVERT_SAVED_MODEL}/).
 * </ul>
 *
 * <p>The module that writes each kind keeps its file names in step with the constants here (this is the
 * lowest module, so it cannot refer to theirs).
 *
 * @param kind what the path is
 * @param path the path as given
 */
public record ModelLocation(Kind kind, Path path) {
  /** The kinds of model paths. */
  public enum Kind {
    CHECKPOINT_FILE("a checkpoint file"),
    CONVERT_OUTPUT("a directory written by convert"),
    RUN_DIRECTORY("a training run directory"),
    MODEL_DIRECTORY("a model directory (NAME/VERSION)"),
    VERSION_DIRECTORY("a SavedModel version directory");

    private final String description;

    Kind(String description) {
      this.description = description;
    }

    /** "a training run directory", for messages. */
    public String description() {
      return description;
    }
  }

  /** The graph file that makes a directory a SavedModel. */
  public static final String SAVED_MODEL_PB = "saved_model.pb";
  /** The record of a training run (training's Trainer.RUN_FILE). */
  public static final String RUN_FILE = "run.json";
  /** Where a finished run exports its model directory (training's Trainer.EXPORT_DIR). */
  public static final String RUN_EXPORT_DIR = "savedmodel";
  /** convert's model config (converters' Conversion.CONFIG_FILE). */
  public static final String CONFIG_FILE = "config.json";
  /** convert's TF checkpoint folder (the first part of converters' Conversion.CHECKPOINT_PREFIX). */
  public static final String CHECKPOINT_DIR = "checkpoint";
  /** The model directory convert writes beside its TF checkpoint. */
  public static final String CONVERT_SAVED_MODEL = "saved_model";

  private static final Pattern DIGITS = Pattern.compile("[0-9]+");

  public ModelLocation {
    if (kind == null || path == null) throw new IllegalArgumentException("kind and path are required");
  }

  /**
   * What {@code path} is.
   *
   * @throws BadInputException (one line, naming the path) when it does not exist or is a directory of none of
   *     the kinds
   */
  public static ModelLocation of(Path path) {
    if (Files.isRegularFile(path)) return new ModelLocation(Kind.CHECKPOINT_FILE, path);
    if (!Files.exists(path)) throw new BadInputException(path + ": no such file or directory");
    return directory(path, "a model");
  }

  /**
   * {@code path}, which must be of kind {@code wanted}: e.g. a checkpoint file where one is read, a convert
   * output where its TF checkpoint is.
   *
   * @throws BadInputException naming the path and what it is instead
   */
  public static ModelLocation require(Path path, Kind wanted) {
    ModelLocation where = of(path);
    if (where.kind() != wanted) {
      throw new BadInputException(path + ": " + where.kind().description() + ", not " + wanted.description());
    }
    return where;
  }

  /**
   * The SavedModel version directory {@code path} stands for: itself, the highest complete version of a model
   * directory, of a finished run's export, or of the SavedModel convert wrote.
   *
   * @throws BadInputException when the path is missing, a checkpoint file, or holds no SavedModel
   */
  public static Path savedModel(Path path) {
    if (!Files.exists(path)) throw new BadInputException(path + ": no such directory");
    if (!Files.isDirectory(path)) {
      throw new BadInputException(path + ": a file, not a SavedModel directory (a checkpoint is exported first:"
          + " bin/rest-tf export --checkpoint FILE --name NAME)");
    }
    return directory(path, "a SavedModel").versionDirectory();
  }

  /** The SavedModel version directory this location stands for (see {@link #savedModel(Path)}). */
  public Path versionDirectory() {
    return switch (kind) {
      case VERSION_DIRECTORY -> path;
      case MODEL_DIRECTORY -> latestVersion(path);
      case RUN_DIRECTORY -> latestVersion(runExport());
      case CONVERT_OUTPUT -> {
        Path models = path.resolve(CONVERT_SAVED_MODEL);
        if (versions(models).isEmpty()) {
          throw new BadInputException(path + ": " + kind.description() + " without a SavedModel in " + CONVERT_SAVED_MODEL
              + "/ (export it: bin/rest-tf export --tf-checkpoint " + path + " --name NAME)");
        }
        yield latestVersion(models);
      }
      case CHECKPOINT_FILE -> throw new BadInputException(path + ": a checkpoint file, not a SavedModel (export it"
          + " first: bin/rest-tf export --checkpoint " + path + " --name NAME)");
    };
  }

  /** A finished run's export, the model directory RUN/{@value #RUN_EXPORT_DIR}/NAME. */
  public Path runExport() {
    if (kind != Kind.RUN_DIRECTORY) throw new IllegalStateException(path + " is " + kind.description() + ", not a run");
    Path base = path.resolve(RUN_EXPORT_DIR);
    if (!Files.isDirectory(base)) {
      throw new BadInputException(path + ": a training run without an export yet (it exports when it finishes)");
    }
    List<Path> models;
    try (Stream<Path> s = Files.list(base)) {
      models = s.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith(".")).toList();
    } catch (IOException e) {
      throw new BadInputException(base + ": cannot read (" + e.getMessage() + ")");
    }
    if (models.size() != 1) throw new BadInputException(base + ": expected one exported model, found " + models.size());
    return models.get(0);
  }

  /**
   * The complete versions of a model directory, ascending: all-digit positive subdirectory names (what TF
   * Serving takes for versions) holding {@value #SAVED_MODEL_PB}. Empty when {@code modelDir} is not a
   * directory.
   */
  public static List<Long> versions(Path modelDir) {
    return List.copyOf(versionDirs(modelDir).keySet());
  }

  /** The highest complete version of a model directory. */
  private static Path latestVersion(Path modelDir) {
    TreeMap<Long, Path> v = versionDirs(modelDir);
    if (v.isEmpty()) throw new BadInputException(modelDir + ": a model directory without a complete version");
    return v.lastEntry().getValue();
  }

  private static TreeMap<Long, Path> versionDirs(Path modelDir) {
    TreeMap<Long, Path> out = numberedDirs(modelDir);
    out.values().removeIf(p -> !Files.isRegularFile(p.resolve(SAVED_MODEL_PB)));
    return out;
  }

  /**
   * Every all-digit positive subdirectory name of a model directory (what TF Serving takes for a version),
   * complete or not, by value (the first of equal values, e.g. 7 and 007). Empty when not a directory.
   */
  public static TreeMap<Long, Path> numberedDirs(Path modelDir) {
    TreeMap<Long, Path> out = new TreeMap<>();
    if (!Files.isDirectory(modelDir)) return out;
    try (Stream<Path> s = Files.list(modelDir)) {
      s.forEach(p -> {
        String n = p.getFileName().toString();
        if (DIGITS.matcher(n).matches() && n.length() <= 18 && Files.isDirectory(p)) {
          long v = Long.parseLong(n);
          if (v > 0) out.putIfAbsent(v, p);
        }
      });
    } catch (IOException e) {
      throw new BadInputException(modelDir + ": cannot read (" + e.getMessage() + ")");
    }
    return out;
  }

  /** A directory's kind; {@code wanted} names what the caller looks for, in the error. */
  private static ModelLocation directory(Path dir, String wanted) {
    if (Files.isRegularFile(dir.resolve(SAVED_MODEL_PB))) return new ModelLocation(Kind.VERSION_DIRECTORY, dir);
    if (Files.isRegularFile(dir.resolve(RUN_FILE))) return new ModelLocation(Kind.RUN_DIRECTORY, dir);
    if (Files.isRegularFile(dir.resolve(CONFIG_FILE)) && Files.isDirectory(dir.resolve(CHECKPOINT_DIR))) {
      return new ModelLocation(Kind.CONVERT_OUTPUT, dir);
    }
    if (!versionDirs(dir).isEmpty()) return new ModelLocation(Kind.MODEL_DIRECTORY, dir);
    throw new BadInputException(dir + ": not " + wanted + " (no " + SAVED_MODEL_PB + ", no numbered versions holding one,"
        + " no " + RUN_FILE + ", no " + CONFIG_FILE + " + " + CHECKPOINT_DIR + "/)");
  }
}
