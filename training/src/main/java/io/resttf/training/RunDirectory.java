package io.resttf.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.model.ModelLocation;
import io.resttf.serving.SavedModelExporter;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.util.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The files of a training run, and nothing else: where each lives, how it is written (atomically) and
 * read back. Used by the {@link Trainer}, and by whoever wants a run's export ({@code eval}, model
 * resolution) without training.
 *
 * <ul>
 *   <li>{@code run.json}: config, options, data, classes, where the weights came from (written once);
 *   <li>{@code checkpoint/}: {@code state.*} (TF checkpoint of the weights, AdamW slots, EMA) and
 *       {@code state.json} (position: epoch, step; best result; epoch statistics), replaced atomically
 *       at the start, at each epoch's end, on Ctrl-C and at the end;
 *   <li>{@code step-checkpoints/step-N/}: the same, every {@code checkpoint_every} steps within an epoch
 *       (each written atomically, the newest {@code keep_checkpoints} kept); a resume takes the newest
 *       checkpoint of all;
 *   <li>{@code best/}: {@code weights.safetensors} (official keys) of the best validation top-1 so far;
 *   <li>{@code metrics.jsonl}: one JSON object per step, evaluation and epoch ({@link MetricsLog});
 *   <li>{@code curves.png}: loss, accuracy and learning rate against steps ({@link Curves});
 *   <li>{@code savedmodel/NAME/1/}: the SavedModel exported at the end; {@code summary.json}.
 * </ul>
 */
public final class RunDirectory {
  public static final String RUN_FILE = ModelLocation.RUN_FILE;
  public static final String CHECKPOINT_DIR = "checkpoint";
  public static final String STEP_CHECKPOINT_DIR = "step-checkpoints";
  static final String STEP_PREFIX = "step-";
  public static final String BEST_DIR = "best";
  public static final String METRICS_FILE = "metrics.jsonl";
  public static final String CURVES_FILE = "curves.png";
  public static final String EXPORT_DIR = ModelLocation.RUN_EXPORT_DIR;
  public static final String SUMMARY_FILE = "summary.json";
  static final String STATE_PREFIX = "state";
  static final String STATE_FILE = "state.json";
  static final String BEST_WEIGHTS = "weights.safetensors";
  static final String FORMAT = "rest-tf-run";

  private final Path dir;
  private final MetricsLog metrics;

  private RunDirectory(Path dir) {
    this.dir = dir.toAbsolutePath().normalize();
    this.metrics = new MetricsLog(this.dir.resolve(METRICS_FILE));
  }

  /** Whether {@code dir} holds a training run (its run.json). */
  public static boolean isRun(Path dir) {
    return Files.isRegularFile(dir.resolve(RUN_FILE));
  }

  /** A directory to start a new run in: it must not exist, or be empty. Nothing is written yet. */
  static RunDirectory forNewRun(Path dir) {
    RunDirectory r = new RunDirectory(dir);
    Path d = r.dir;
    if (Files.exists(d)) {
      if (!Files.isDirectory(d)) throw new BadInputException(d + ": exists and is not a directory");
      if (isRun(d)) {
        throw new BadInputException(d + ": holds a run already (continue it with --resume " + d + ", or choose another --out)");
      }
      try (Stream<Path> s = Files.list(d)) {
        if (s.findAny().isPresent()) throw new BadInputException(d + ": exists and is not empty; choose another --out");
      } catch (IOException e) {
        throw new BadInputException(d + ": cannot read (" + e.getMessage() + ")");
      }
    } else {
      probeWritable(d);
    }
    return r;
  }

  /**
   * Fails now, not after the graph is built, when {@code d} cannot be created (read-only or special file
   * system, a file in the way): creates it and its missing parents, then removes what it created.
   */
  static void probeWritable(Path d) {
    List<Path> created = new ArrayList<>();
    for (Path p = d; p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS); p = p.getParent()) created.add(p);
    try {
      Files.createDirectories(d);
    } catch (IOException e) {
      throw new UncheckedIOException(d + ": cannot write (" + e.getMessage() + ")", e);
    } finally {
      for (Path p : created) {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          // not empty (someone else writes there) or already gone: leave it
        }
      }
    }
  }

  /** An existing run (its run.json must be there and be a rest-tf run file). */
  public static RunDirectory existing(Path dir) {
    RunDirectory r = new RunDirectory(dir);
    r.readRunFile();
    return r;
  }

  public Path path() {
    return dir;
  }

  public Path checkpointDir() {
    return dir.resolve(CHECKPOINT_DIR);
  }

  MetricsLog metrics() {
    return metrics;
  }

  /** The run's complete options as {@link TrainOptions#RECIPE_FILE}, which {@code --recipe FILE} takes back. */
  void writeRecipe(TrainOptions options) {
    try {
      AtomicFiles.writeString(dir.resolve(TrainOptions.RECIPE_FILE), TrainOptions.JSON.writeValueAsString(options.toJsonNode()));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(dir.resolve(TrainOptions.RECIPE_FILE) + ": cannot write (" + AtomicFiles.reason(e) + ")", e);
    }
  }

  // ---------------------------------------------------------------- run.json

  /** The run file, checked to be one. */
  public JsonNode readRunFile() {
    Path f = dir.resolve(RUN_FILE);
    JsonNode run = readJson(f, dir + ": not a training run directory (no " + RUN_FILE + ")");
    if (!FORMAT.equals(run.path("format").asText())) throw new BadInputException(f + ": not a rest-tf run file");
    return run;
  }

  /** Where messages about the run file point. */
  String runFileName() {
    return dir.resolve(RUN_FILE).toString();
  }

  /** Writes run.json (format fields added here), creating the directory. */
  void writeRunFile(ObjectNode content) {
    ObjectNode n = TrainOptions.JSON.createObjectNode();
    n.put("format", FORMAT);
    n.put("format_version", 1);
    n.setAll(content);
    try {
      Files.createDirectories(dir);
      AtomicFiles.writeString(dir.resolve(RUN_FILE), TrainOptions.JSON.writeValueAsString(n));
    } catch (IOException e) {
      throw new UncheckedIOException(dir + ": cannot write (" + e.getMessage() + ")", e);
    }
  }

  // ---------------------------------------------------------------- checkpoint

  /** Something that writes the TF checkpoint files at a prefix (the training graph's saver). */
  interface CheckpointWriter {
    void save(Path prefix);
  }

  /** Replaces checkpoint/ atomically: the TF checkpoint at state.* and {@code state} as state.json. */
  void writeCheckpoint(ObjectNode state, CheckpointWriter weights) {
    AtomicFiles.writeDirectory(checkpointDir(), true, d -> {
      weights.save(d.resolve(STATE_PREFIX));
      Files.writeString(d.resolve(STATE_FILE), TrainOptions.JSON.writeValueAsString(state));
    });
  }

  /** Where step checkpoints go. */
  public Path stepCheckpointDir() {
    return dir.resolve(STEP_CHECKPOINT_DIR);
  }

  /**
   * Writes a step checkpoint (step-checkpoints/step-N, atomically), then drops all but the newest
   * {@code keep}; returns its directory. What killed writes or drops left behind is removed first.
   */
  Path writeStepCheckpoint(long step, ObjectNode state, CheckpointWriter weights, int keep) {
    Path parent = stepCheckpointDir();
    Path target = parent.resolve(String.format(java.util.Locale.ROOT, "%s%08d", STEP_PREFIX, step));
    try {
      Files.createDirectories(parent);
      // one writer per run: every hidden entry here is a leftover of a killed write or drop
      try (Stream<Path> s = Files.list(parent)) {
        s.filter(p -> p.getFileName().toString().startsWith(AtomicFiles.TMP_PREFIX)).forEach(AtomicFiles::deleteQuietly);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(parent + ": cannot write (" + AtomicFiles.reason(e) + ")", e);
    }
    AtomicFiles.writeDirectory(target, true, d -> {
      weights.save(d.resolve(STATE_PREFIX));
      Files.writeString(d.resolve(STATE_FILE), TrainOptions.JSON.writeValueAsString(state));
    });
    List<Path> all = stepCheckpoints();
    for (Path old : all.subList(0, Math.max(0, all.size() - keep))) {
      try {
        // renamed out of sight first, so no reader ever sees a half-deleted checkpoint
        Path doomed = parent.resolve(AtomicFiles.TMP_PREFIX + old.getFileName() + "-dropped-" + AtomicFiles.randomSuffix());
        AtomicFiles.move(old, doomed);
        AtomicFiles.deleteQuietly(doomed);
      } catch (IOException e) {
        // an extra old checkpoint is harmless; the next write tries again
      }
    }
    return target;
  }

  /** The step checkpoints on disk (step-checkpoints/step-N), oldest first. */
  List<Path> stepCheckpoints() {
    Path parent = stepCheckpointDir();
    if (!Files.isDirectory(parent)) return List.of();
    try (Stream<Path> s = Files.list(parent)) {
      return s.filter(p -> p.getFileName().toString().matches(STEP_PREFIX + "[0-9]{1,18}") && Files.isDirectory(p))
          .sorted(java.util.Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().substring(STEP_PREFIX.length()))))
          .toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  /**
   * The checkpoint to resume from: the newest complete one (highest step in its state.json) of the epoch
   * checkpoint — checkpoint/, or one moved aside by an interrupted replacement (see
   * AtomicFiles.writeDirectory) — and the step checkpoints; on a tie the epoch checkpoint, which is
   * further on (its validation is done). checkpoint/ when there is none.
   */
  Path resumableCheckpoint() {
    Path ckpt = checkpointDir();
    Path epochCkpt = ckpt;
    if (!Files.isDirectory(ckpt)) {
      try (Stream<Path> s = Files.list(dir)) {
        epochCkpt = s.filter(p -> p.getFileName().toString().startsWith(AtomicFiles.TMP_PREFIX + CHECKPOINT_DIR + "-old-"))
            .filter(p -> Files.isRegularFile(p.resolve(STATE_FILE))).findFirst()
            .orElse(ckpt);
      } catch (IOException e) {
        epochCkpt = ckpt;
      }
    }
    Path best = null;
    long bestStep = -1;
    List<Path> candidates = new ArrayList<>(List.of(epochCkpt));
    candidates.addAll(stepCheckpoints());
    for (Path c : candidates) {
      long step = completeStep(c);
      if (step > bestStep) {
        best = c;
        bestStep = step;
      }
    }
    return best != null ? best : ckpt;
  }

  /** The step a checkpoint directory holds, -1 unless its state.json and TF checkpoint index are there. */
  private static long completeStep(Path ckpt) {
    if (!Files.isRegularFile(Path.of(statePrefix(ckpt) + ".index"))) return -1;
    try {
      JsonNode state = TrainOptions.JSON.readTree(ckpt.resolve(STATE_FILE).toFile());
      return state.path("step").canConvertToLong() ? state.path("step").asLong(-1) : -1;
    } catch (IOException e) {
      return -1;
    }
  }

  /** state.json of the checkpoint {@code ckpt}. */
  JsonNode readState(Path ckpt) {
    return readJson(ckpt.resolve(STATE_FILE), dir + ": no checkpoint to resume from (" + CHECKPOINT_DIR + "/" + STATE_FILE + " missing)");
  }

  /** The step of the checkpoint a resume would start from, -1 if there is none readable. */
  long savedStep() {
    return completeStep(resumableCheckpoint());
  }

  static Path statePrefix(Path ckpt) {
    return ckpt.resolve(STATE_PREFIX);
  }

  // ---------------------------------------------------------------- best weights, summary

  /** Replaces best/ atomically: the weights (official keys) and best.json. */
  void writeBest(Map<String, HostTensor> stateDict, int epoch, long step, double top1) {
    ObjectNode b = TrainOptions.JSON.createObjectNode();
    b.put("epoch", epoch);
    b.put("step", step);
    b.put("top1", top1);
    AtomicFiles.writeDirectory(dir.resolve(BEST_DIR), true, d -> {
      Safetensors.write(d.resolve(BEST_WEIGHTS), stateDict, Map.of("format", "pt", "epoch", Integer.toString(epoch)));
      Files.writeString(d.resolve("best.json"), TrainOptions.JSON.writeValueAsString(b));
    });
  }

  /** The best weights file (it may not exist: no validation data, or no epoch finished). */
  Path bestWeights() {
    return dir.resolve(BEST_DIR).resolve(BEST_WEIGHTS);
  }

  void writeSummary(ObjectNode summary) {
    try {
      AtomicFiles.writeString(dir.resolve(SUMMARY_FILE), TrainOptions.JSON.writeValueAsString(summary));
    } catch (IOException e) {
      throw new UncheckedIOException(dir.resolve(SUMMARY_FILE) + ": cannot write (" + e.getMessage() + ")", e);
    }
  }

  /** Redraws curves.png from metrics.jsonl; a missing font or display library must not stop a run. */
  void drawCurves(String title) {
    try {
      metrics.drawCurves(dir.resolve(CURVES_FILE), title);
    } catch (RuntimeException | Error e) {
      // the curves are a convenience; the metrics file holds the numbers
    }
  }

  // ---------------------------------------------------------------- export

  public Path exportBase() {
    return dir.resolve(EXPORT_DIR);
  }

  /** A valid SavedModel name from the run directory's name. */
  String defaultExportName() {
    String n = dir.getFileName() == null ? "model" : dir.getFileName().toString().replaceAll("[^A-Za-z0-9_.-]", "_");
    while (n.startsWith(".")) n = n.substring(1);
    if (n.isEmpty() || !SavedModelExporter.isValidModelName(n)) n = "model";
    return n;
  }

  // ---------------------------------------------------------------- helpers

  static JsonNode readJson(Path file, String missing) {
    if (!Files.isRegularFile(file)) throw new BadInputException(missing);
    try {
      return TrainOptions.JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new BadInputException(file + ": unreadable (" + e.getMessage() + ")");
    }
  }

  static List<String> jsonStrings(JsonNode a) {
    List<String> out = new ArrayList<>();
    a.forEach(x -> out.add(x.asText()));
    return out;
  }

  @Override
  public String toString() {
    return dir.toString();
  }
}
