package io.resttf.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.model.ModelLocation;
import io.resttf.model.RestConfig;
import io.resttf.model.Precision;
import io.resttf.model.RestModel;
import io.resttf.model.RestNetwork;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.util.AtomicFiles;
import io.resttf.util.ErrorText;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.tensorflow.Graph;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.TensorFlow;
import org.tensorflow.exceptions.TensorFlowException;

/**
 * Writes a model as a TF Serving SavedModel: {@code BASE/NAME/VERSION/} with {@code saved_model.pb},
 * {@code variables/} and {@code assets/} ({@code labels.txt}, {@code rest_tf.json}), plus
 * {@code BASE/NAME/model.json} and {@code BASE/models.config}.
 *
 * <p>Writing is atomic: the version is built in {@code BASE/NAME/.tmp-<version>-<random>} (TF Serving
 * only watches all-digit names) and renamed into place. A JVM shutdown hook removes the temporary
 * directory of an interrupted export; temporary directories that a killed process left behind are
 * removed by the next export of the same model (under a lock file, so never one of a live export).
 * An existing version is never overwritten unless {@link Options#force()}; then the old directory is
 * moved aside, the new one moved in, and the old one deleted.
 *
 * <p>Signatures (tag {@code serve}; method {@code tensorflow/serving/predict}, and
 * {@code tensorflow/serving/classify} for {@code classify}) are listed in {@link ServingSignatures}. The
 * {@code saved_model.pb} is finished as TF Python's builder writes it ({@link MetaGraphFinisher}: default
 * attributes stripped, op list and TF version recorded, assets registered), so older runtimes load it.
 */
public final class SavedModelExporter {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]+");
  /** Names that the repository's savedmodels/ folder uses for its Maven module. */
  private static final Set<String> RESERVED = Set.of("src", "target", "pom.xml");
  private static final String LOCK_FILE = ".export.lock";
  /** Name of the metadata file inside assets/ and, per model, beside the versions. */
  public static final String METADATA_ASSET = "rest_tf.json";
  public static final String LABELS_ASSET = "labels.txt";
  public static final String MODEL_JSON = "model.json";
  public static final String FORMAT = "rest-tf-savedmodel";
  public static final int FORMAT_VERSION = 1;
  /** rest_tf.json's {@code task}: what the export computes (absent in exports written before dense models: classification). */
  public static final String TASK_CLASSIFICATION = "classification", TASK_SEGMENTATION = "segmentation",
      TASK_BACKBONE = "backbone";

  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /**
   * The metadata (assets/rest_tf.json) of export version {@code versionDir}, checked to be rest-tf's.
   *
   * @throws io.resttf.tensor.BadInputException when it is missing, not JSON, or not rest-tf export metadata
   */
  public static com.fasterxml.jackson.databind.JsonNode readMetadata(Path versionDir) {
    Path meta = versionDir.resolve("assets").resolve(METADATA_ASSET);
    com.fasterxml.jackson.databind.JsonNode metadata;
    try {
      metadata = JSON.readTree(meta.toFile());
    } catch (IOException e) {
      throw new io.resttf.tensor.BadInputException(versionDir + ": not a rest-tf export (cannot read assets/"
          + METADATA_ASSET + ": " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j
              ? "not valid JSON: " + j.getOriginalMessage().replaceAll("\\s*\\(?(start marker )?at \\[Source.*", "")
              : io.resttf.util.ErrorText.reason(e)) + ")");
    }
    if (metadata == null || !FORMAT.equals(metadata.path("format").asText())) {
      throw new io.resttf.tensor.BadInputException(meta + ": not rest-tf export metadata");
    }
    return metadata;
  }

  /** Test hook: runs after the SavedModel is complete in its temporary directory, before it is renamed. */
  static volatile Consumer<Path> afterStaging;

  private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();

  /**
   * @param version the version to write (positive); null = one more than the highest present (1 if none)
   * @param force   replace the version if it exists
   * @param allowNonFinite export weights that hold NaN or infinite values (refused by default: TF Serving
   *     would serve NaN scores)
   */
  public record Options(Long version, boolean force, boolean allowNonFinite,
      java.util.function.LongFunction<ModelsConfig.Serving> serving, Precision precision, RestNetwork.Bands bands) {
    public static final Options DEFAULT = new Options(null, false, false, null, Precision.FP32, RestNetwork.Bands.AUTO);

    public Options withVersion(long v) {
      return new Options(v, force, allowNonFinite, serving, precision, bands);
    }

    public Options withForce(boolean f) {
      return new Options(version, f, allowNonFinite, serving, precision, bands);
    }

    public Options withAllowNonFinite(boolean allow) {
      return new Options(version, force, allow, serving, precision, bands);
    }

    /**
     * {@code ON}: the graph also runs each block (not windowed) and large convolution of a single image on two bands
     * of rows, which pays in a serving process whose intra-op pool has one thread (TF_NUM_INTRAOP_THREADS=1,
     * tensorflow_model_server --tensorflow_intra_op_parallelism=1) and costs a little with two or more; {@code OFF}:
     * not; {@code AUTO}: as this process would build it ({@link RestNetwork#blocksOnBandsAtBatch1}). Recorded as
     * {@code "batch1_bands"} in rest_tf.json.
     */
    public Options withBands(RestNetwork.Bands b) {
      return new Options(version, force, allowNonFinite, serving, precision, java.util.Objects.requireNonNull(b));
    }

    /**
     * How TF Serving is to serve the model once this version exists (given the version number, e.g. to label
     * it): checked before anything is written, kept in {@code serving.json}. Without it the model's current
     * policy is kept, and the export refused if that policy's labels would point at an unloaded version.
     */
    public Options withServing(java.util.function.LongFunction<ModelsConfig.Serving> s) {
      return new Options(version, force, allowNonFinite, s, precision, bands);
    }

    /**
     * {@link Precision#BF16}: the classification graph reads every MatMul and convolution weight from a bfloat16
     * copy saved beside the float32 variables, so a bfloat16 session ({@code RestClassifier} with
     * {@link Precision#BF16}, {@code classify --precision bf16}) casts no weight on a run. Any session computes
     * with the bfloat16-rounded weights; recorded as {@code "precision"} in rest_tf.json.
     */
    public Options withPrecision(Precision p) {
      return new Options(version, force, allowNonFinite, serving, p, bands);
    }
  }

  /** What an export wrote. */
  public record Result(String name, long version, Path versionDir, Path modelJson, Path modelsConfig,
      List<String> signatures, boolean replaced) {}

  private final Path base;

  /** Exports under {@code base} (created if missing). */
  public SavedModelExporter(Path base) {
    this.base = base.toAbsolutePath().normalize();
  }

  public Path base() {
    return base;
  }

  public Result export(String name, RestConfig config, Map<String, HostTensor> stateDict, ExportMetadata metadata) {
    return export(name, config, stateDict, metadata, Options.DEFAULT);
  }

  /**
   * Exports {@code stateDict} (official keys and layouts; loaded strictly) as {@code name}.
   *
   * @throws BadInputException for a bad name, config, metadata, weights or an existing version without force
   * @throws UncheckedIOException when the file system fails
   */
  public Result export(String name, RestConfig config, Map<String, HostTensor> stateDict, ExportMetadata metadata,
      Options options) {
    checkModelName(name);
    config.validate();
    ExportMetadata meta = (metadata == null ? ExportMetadata.defaults() : metadata).resolve(config);
    if (options.version() != null && options.version() < 1) {
      throw new BadInputException("version must be a positive integer, got " + options.version());
    }
    if (!options.allowNonFinite()) NonFiniteWeights.refuse(stateDict, "(Options.withAllowNonFinite exports them anyway)");
    return exportVersion(name, options,
        (dir, version) -> writeSavedModel(dir, name, version, config, stateDict, meta, options.precision(), options.bands()));
  }

  /**
   * Exports a dense-prediction model ({@link DenseExport}: a segmentor or a bare backbone) from an official
   * state_dict, loaded with {@code load} (e.g. a detector's heads dropped). Same versioning, locking and
   * atomicity as a classification export.
   */
  public Result exportDense(String name, DenseExport model, Map<String, HostTensor> stateDict,
      RestModel.LoadOptions load, Options options) {
    checkModelName(name);
    model.validate();
    if (options.version() != null && options.version() < 1) {
      throw new BadInputException("version must be a positive integer, got " + options.version());
    }
    if (!options.allowNonFinite()) NonFiniteWeights.refuse(stateDict, "(Options.withAllowNonFinite exports them anyway)");
    return exportVersion(name, options, (dir, version) -> writeDenseSavedModel(dir, name, version, model, stateDict, load,
        options.bands()));
  }

  /** Writes one complete SavedModel version into a staging directory. */
  private interface VersionWriter {
    List<String> write(Path dir, long version) throws IOException;
  }

  private Result exportVersion(String name, Options options, VersionWriter writer) {
    if (Files.exists(base) && !Files.isDirectory(base)) throw new BadInputException(base + " is not a directory");
    Path modelDir = base.resolve(name);
    if (Files.exists(modelDir) && !Files.isDirectory(modelDir)) {
      throw new BadInputException(modelDir + " exists and is not a directory");
    }
    Result result;
    try {
      Files.createDirectories(modelDir);
      try (ModelLock lock = ModelLock.acquire(modelDir)) {
        removeStale(modelDir);
        Map<Long, Path> present = ModelLocation.numberedDirs(modelDir);
        long version = options.version() != null ? options.version() : nextVersion(modelDir);
        Path existing = present.get(version);
        if (existing != null && !options.force()) {
          throw new BadInputException("model " + name + " version " + version + " already exists (" + existing
              + "); use force to replace it");
        }
        // the models.config this export leads to must be one TF Serving accepts: checked before writing
        ModelsConfig.Serving serving = options.serving() != null ? options.serving().apply(version)
            : ModelsConfig.Serving.read(modelDir);
        try {
          serving.checkWithNewVersion(name, List.copyOf(present.keySet()), version);
        } catch (BadInputException e) {
          throw new BadInputException("export of " + name + " version " + version + " refused: " + e.getMessage()
              + (options.serving() == null ? " (change the version labels or policy first)" : ""), e);
        }
        Path target = modelDir.resolve(Long.toString(version));
        List<String> signatures;
        try (AtomicFiles.StagedDirectory st = AtomicFiles.stage(target)) {
          signatures = writer.write(st.path(), version);
          Consumer<Path> hook = afterStaging;
          if (hook != null) hook.accept(st.path());
          st.commit(existing); // existing may be spelled differently ("007" for version 7)
        }
        if (options.serving() != null) serving.write(modelDir);
        Path modelJson = writeModelJson(modelDir);
        result = new Result(name, version, target, modelJson, null, signatures, existing != null);
      }
      Path modelsConfig = regenerateModelsConfig(base);
      return new Result(result.name(), result.version(), result.versionDir(), result.modelJson(), modelsConfig,
          result.signatures(), result.replaced());
    } catch (IOException e) {
      throw new UncheckedIOException("export of " + name + " to " + modelDir + " failed: "
          + ErrorText.describe(modelDir, e), e);
    }
  }

  // ---- names and versions ----

  /** A model name TF Serving and this layout accept: [A-Za-z0-9_.-]+, not hidden, not the Maven module's files. */
  public static boolean isValidModelName(String name) {
    return name != null && NAME.matcher(name).matches() && !name.startsWith(".") && !RESERVED.contains(name);
  }

  public static void checkModelName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new BadInputException("model name \"" + name + "\" must match [A-Za-z0-9_.-]+");
    }
    if (name.startsWith(".")) throw new BadInputException("model name \"" + name + "\" must not start with \".\"");
    if (RESERVED.contains(name)) {
      throw new BadInputException("model name \"" + name + "\" is reserved (savedmodels/ also holds the Maven module's "
          + String.join(", ", RESERVED.stream().sorted().toList()) + ")");
    }
  }

  /** The version an export without an explicit one writes: one more than the highest numbered directory, 1 if none. */
  public static long nextVersion(Path modelDir) {
    Map<Long, Path> present = ModelLocation.numberedDirs(modelDir);
    return present.isEmpty() ? 1 : ((TreeMap<Long, Path>) present).lastKey() + 1;
  }

  /** Complete versions of a model directory, ascending (the locator's answer). */
  public static List<Long> versions(Path modelDir) {
    return ModelLocation.versions(modelDir);
  }

  /** Removes temporary entries left by killed exports (caller holds the model lock). */
  private static void removeStale(Path modelDir) throws IOException {
    try (Stream<Path> s = Files.list(modelDir)) {
      for (Path p : s.toList()) {
        if (p.getFileName().toString().startsWith(AtomicFiles.TMP_PREFIX)) AtomicFiles.deleteRecursively(p);
      }
    }
  }

  // ---- writing ----

  private static List<String> writeSavedModel(Path dir, String name, long version, RestConfig config,
      Map<String, HostTensor> stateDict, ExportMetadata meta, Precision precision, RestNetwork.Bands bands)
      throws IOException {
    List<Signature> sigs;
    // One network: the serving graph's own variables are filled through its weight loader (strict: every
    // key and shape checked, one message listing all problems), then its functions are exported.
    try (Graph g = new Graph()) {
      boolean withBands = RestNetwork.buildingWithBands(bands, RestNetwork::blocksOnBandsAtBatch1);
      ServingGraph sg = RestNetwork.buildingWithBands(bands, () -> ServingGraph.build(g, config, meta.preprocessing(),
          meta.labels(), meta.maxPixels(), precision == Precision.BF16));
      Map<String, String> assetTensors = MetaGraphFinisher.exportAssets(org.tensorflow.op.Ops.create(g));
      try (Session session = new Session(g)) {
        sg.loader.load(session, stateDict, RestModel.LoadOptions.STRICT, 0);
        sg.network.params().refreshCopies(session);
        sigs = sg.signatures();
        exportFunctions(dir, session, sigs);
      }
      Path assets = Files.createDirectories(dir.resolve("assets"));
      Files.writeString(assets.resolve(LABELS_ASSET), String.join("\n", meta.labels()) + (meta.labels().isEmpty() ? "" : "\n"));
      ObjectNode doc = metadataDocument(name, version, config, meta, sigs, sg.topK);
      doc.put("precision", precision.id());
      doc.put("batch1_bands", withBands);
      Files.writeString(assets.resolve(METADATA_ASSET), JSON.writeValueAsString(doc) + "\n");
      MetaGraphFinisher.finish(dir, assetTensors);
    }
    return sigs.stream().map(Signature::key).toList();
  }

  /** Writes the session's functions for {@code sigs} as a SavedModel in {@code dir} (tag "serve"). */
  private static void exportFunctions(Path dir, Session session, List<Signature> sigs) throws IOException {
    SavedModelBundle.Exporter exporter = SavedModelBundle.exporter(dir.toString()).withTags(ServingSignatures.TAG);
    for (Signature s : sigs) exporter.withFunction(session.function(s));
    try {
      exporter.export();
    } catch (TensorFlowException e) {
      // e.g. "No space left on device; [[{{node save/Save}}]]; Hint: ..." → the OS reason, one line
      String why = ErrorText.tensorFlow(e.getMessage());
      if (ErrorText.osReason(e.getMessage()) != null) {
        throw new BadInputException(dir + ": cannot write the SavedModel (" + why + ")", e);
      }
      throw new IllegalStateException("writing the SavedModel to " + dir + " failed: " + why, e);
    }
  }

  private static List<String> writeDenseSavedModel(Path dir, String name, long version, DenseExport model,
      Map<String, HostTensor> stateDict, RestModel.LoadOptions load, RestNetwork.Bands bands) throws IOException {
    List<Signature> sigs;
    Map<String, String> assetTensors;
    boolean withBands = RestNetwork.buildingWithBands(bands, RestNetwork::blocksOnBandsAtBatch1);
    try (Graph g = new Graph()) {
      DenseServingGraph sg = RestNetwork.buildingWithBands(bands,
          () -> DenseServingGraph.build(g, model, io.resttf.util.ImageHeader.DEFAULT_MAX_PIXELS));
      assetTensors = MetaGraphFinisher.exportAssets(org.tensorflow.op.Ops.create(g));
      try (Session session = new Session(g)) {
        sg.loader.load(session, stateDict, load, 0);
        sigs = sg.signatures();
        exportFunctions(dir, session, sigs);
      }
    }
    Path assets = Files.createDirectories(dir.resolve("assets"));
    List<String> labels = model.labels();
    Files.writeString(assets.resolve(LABELS_ASSET), String.join("\n", labels) + (labels.isEmpty() ? "" : "\n"));
    ObjectNode d = JSON.createObjectNode();
    d.put("format", FORMAT);
    d.put("format_version", FORMAT_VERSION);
    d.put("task", model.task());
    d.put("name", name);
    d.put("version", version);
    d.set("backbone", model.backbone().toJsonNode());
    d.put("backbone_style", model.style().name().toLowerCase(java.util.Locale.ROOT));
    d.put("key_prefix", model.keyPrefix());
    d.put("batch1_bands", withBands);
    if (model.head() != null) {
      ObjectNode h = d.putObject("head");
      h.put("type", "UPerHead");
      h.put("channels", model.head().channels());
      ArrayNode ps = h.putArray("pool_scales");
      model.head().poolScales().forEach(ps::add);
      h.put("num_classes", model.head().numClasses());
      h.put("aux_channels", model.head().auxChannels());
      h.put("aux_in_index", model.head().auxInIndex());
      h.put("align_corners", false);
    }
    if (model.head() != null) {
      ObjectNode tp = d.putObject("test_pipeline");
      tp.put("align_resize_long_edge", model.pipeline().longEdge());
      tp.put("align_resize_short_edge", model.pipeline().shortEdge());
      tp.put("size_divisor", 32);
      ArrayNode m = tp.putArray("mean");
      model.pipeline().mean().forEach(m::add);
      ArrayNode sd = tp.putArray("std");
      model.pipeline().std().forEach(sd::add);
    }
    ArrayNode ls = d.putArray("labels");
    labels.forEach(ls::add);
    d.put("rest_tf_version", restTfVersion());
    d.put("tensorflow_version", TensorFlow.version());
    d.put("exported_at", Instant.now().truncatedTo(ChronoUnit.MILLIS).toString());
    signaturesNode(d, sigs);
    Files.writeString(assets.resolve(METADATA_ASSET), JSON.writeValueAsString(d) + "\n");
    MetaGraphFinisher.finish(dir, assetTensors);
    return sigs.stream().map(Signature::key).toList();
  }

  private static void signaturesNode(ObjectNode d, List<Signature> sigs) {
    ObjectNode s = d.putObject("signatures");
    for (Signature sig : sigs) {
      ObjectNode o = s.putObject(sig.key());
      o.put("method_name", sig.methodName());
      ObjectNode in = o.putObject("inputs");
      sig.getInputs().forEach((k, v) -> in.set(k, describe(v)));
      ObjectNode out = o.putObject("outputs");
      sig.getOutputs().forEach((k, v) -> out.set(k, describe(v)));
    }
  }

  private static ObjectNode metadataDocument(String name, long version, RestConfig config, ExportMetadata meta,
      List<Signature> sigs, int topK) {
    ObjectNode d = JSON.createObjectNode();
    d.put("format", FORMAT);
    d.put("format_version", FORMAT_VERSION);
    d.put("task", TASK_CLASSIFICATION);
    d.put("name", name);
    d.put("version", version);
    if (meta.variant() != null) d.put("variant", meta.variant());
    else d.putNull("variant");
    d.set("config", config.toJsonNode());
    d.set("preprocessing", meta.preprocessing().toJsonNode(JSON));
    d.put("max_pixels", meta.maxPixels());
    d.put("num_classes", config.numClasses());
    d.put("top_k", topK);
    ArrayNode labels = d.putArray("labels");
    meta.labels().forEach(labels::add);
    ObjectNode source = d.putObject("source");
    if (meta.sourcePath() != null) source.put("checkpoint", meta.sourcePath());
    else source.putNull("checkpoint");
    if (meta.sourceSha256() != null) source.put("sha256", meta.sourceSha256());
    else source.putNull("sha256");
    d.put("rest_tf_version", restTfVersion());
    d.put("tensorflow_version", TensorFlow.version());
    d.put("exported_at", Instant.now().truncatedTo(ChronoUnit.MILLIS).toString());
    signaturesNode(d, sigs);
    return d;
  }

  private static ObjectNode describe(Signature.TensorDescription t) {
    ObjectNode n = JSON.createObjectNode();
    n.put("dtype", t.dataType.name());
    if (t.shape.isUnknown()) {
      n.putNull("shape");
    } else {
      ArrayNode shape = n.putArray("shape");
      for (long x : t.shape.asArray()) shape.add(x);
    }
    n.put("tensor", t.name);
    return n;
  }

  /** {@code model.json}: the latest complete version's metadata plus the list of versions. */
  private static Path writeModelJson(Path modelDir) throws IOException {
    List<Long> versions = versions(modelDir);
    Path file = modelDir.resolve(MODEL_JSON);
    if (versions.isEmpty()) {
      Files.deleteIfExists(file);
      return file;
    }
    long latest = versions.get(versions.size() - 1);
    Path asset = ModelLocation.numberedDirs(modelDir).get(latest).resolve("assets").resolve(METADATA_ASSET);
    ObjectNode doc;
    if (Files.isRegularFile(asset)) {
      JsonNode n = JSON.readTree(asset.toFile());
      doc = n.isObject() ? (ObjectNode) n : JSON.createObjectNode();
    } else {
      doc = JSON.createObjectNode();
    }
    doc.put("latest_version", latest);
    ArrayNode vs = doc.putArray("versions");
    versions.forEach(vs::add);
    AtomicFiles.writeString(file, JSON.writeValueAsString(doc) + "\n");
    return file;
  }

  /**
   * Sets how TF Serving serves model {@code name} under {@code base} (its version policy and labels, kept in
   * {@code BASE/NAME/serving.json}) and rewrites {@code models.config}; refused, with nothing written, when a
   * specific version does not exist or a label names a version the policy does not serve.
   */
  public static Path setServing(Path base, String name, ModelsConfig.Serving serving) {
    checkModelName(name);
    Path modelDir = base.toAbsolutePath().normalize().resolve(name);
    List<Long> present = versions(modelDir);
    if (present.isEmpty()) throw new BadInputException("model " + name + " has no version under " + base);
    serving.check(name, present);
    try (ModelLock lock = ModelLock.acquire(modelDir)) {
      serving.write(modelDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + modelDir.resolve(ModelsConfig.Serving.FILE_NAME) + ": "
          + ErrorText.reason(e), e);
    }
    return regenerateModelsConfig(base.toAbsolutePath().normalize());
  }

  /** Rewrites {@code base/models.config} from a scan of {@code base}, under a lock so the last writer saw every model. */
  public static Path regenerateModelsConfig(Path base) {
    try {
      Files.createDirectories(base);
      try (ModelLock lock = ModelLock.acquire(base)) {
        try (Stream<Path> s = Files.list(base)) {
          for (Path p : s.toList()) {
            String n = p.getFileName().toString();
            if (n.startsWith(AtomicFiles.TMP_PREFIX + ModelsConfig.FILE_NAME)) Files.deleteIfExists(p);
          }
        }
        return ModelsConfig.regenerate(base);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + base.resolve(ModelsConfig.FILE_NAME) + ": "
          + ErrorText.reason(e), e);
    }
  }

  static String restTfVersion() {
    try (InputStream in = SavedModelExporter.class.getResourceAsStream("rest-tf.properties")) {
      if (in == null) return "unknown";
      Properties p = new Properties();
      p.load(new java.io.InputStreamReader(in, StandardCharsets.UTF_8));
      String v = p.getProperty("version", "unknown");
      return v.startsWith("${") ? "unknown" : v;
    } catch (IOException e) {
      return "unknown";
    }
  }

  // ---- locking ----

  /**
   * An exclusive lock on a directory: in this JVM (ReentrantLock) and across processes (lock file). The
   * lock file is removed on release, so no export leaves one behind. Removal is safe against a process
   * that opened the same file and waits for its lock: the holder first writes one byte into the file
   * (files are created empty), then deletes it; whoever then acquires the lock on a non-empty file knows it
   * is unlinked (or left by a process killed between the two steps) and retries on a fresh one.
   */
  private static final class ModelLock implements AutoCloseable {
    private final ReentrantLock jvmLock;
    private final Path file;
    private final FileChannel channel;
    private final FileLock fileLock;

    private ModelLock(ReentrantLock jvmLock, Path file, FileChannel channel, FileLock fileLock) {
      this.jvmLock = jvmLock;
      this.file = file;
      this.channel = channel;
      this.fileLock = fileLock;
    }

    static ModelLock acquire(Path dir) throws IOException {
      ReentrantLock l = JVM_LOCKS.computeIfAbsent(dir.toAbsolutePath().normalize(), k -> new ReentrantLock());
      l.lock();
      Path file = dir.resolve(LOCK_FILE);
      try {
        while (true) {
          FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          try {
            FileLock fl = ch.lock();
            if (ch.size() == 0) return new ModelLock(l, file, ch, fl);
            // released by a holder that unlinked it, or left by one killed while releasing: retry anew
            if (Files.exists(file) && Files.size(file) > 0) Files.deleteIfExists(file);
            fl.release();
            ch.close();
          } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
          }
        }
      } catch (IOException | RuntimeException e) {
        l.unlock();
        throw e;
      }
    }

    @Override
    public void close() throws IOException {
      try {
        try {
          channel.write(java.nio.ByteBuffer.wrap(new byte[] {1}), 0);
          Files.deleteIfExists(file);
        } finally {
          try {
            fileLock.release();
          } finally {
            channel.close();
          }
        }
      } finally {
        jvmLock.unlock();
      }
    }
  }
}
