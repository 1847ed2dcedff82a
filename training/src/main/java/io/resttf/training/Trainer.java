package io.resttf.training;

import io.resttf.util.AtomicFiles;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.RestNetwork;
import io.resttf.serving.ExportMetadata;
import io.resttf.serving.SavedModelExporter;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.training.data.Dataset;
import io.resttf.training.data.ImagePipeline;
import io.resttf.training.data.Prefetcher;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.tensorflow.proto.ConfigProto;

/**
 * A training run in a run directory: starts one ({@link #start}) or continues one ({@link #resume}),
 * then {@link #run}s it to the end or until {@link #requestStop} (Ctrl-C in the CLI).
 *
 * <p>Run directory:
 * <ul>
 *   <li>{@code run.json}: config, options, data, classes, where the weights came from (written once);
 *   <li>{@code checkpoint/}: {@code state.*} (TF checkpoint of the weights, AdamW slots, EMA) and
 *       {@code state.json} (position: epoch, step; best result; epoch statistics), replaced atomically at
 *       the start, after every epoch and when stopped;
 *   <li>{@code best/}: {@code weights.safetensors} (official keys) of the best validation top-1 so far;
 *   <li>{@code metrics.jsonl}: one JSON object per step, evaluation and epoch;
 *   <li>{@code curves.png}: loss, accuracy and learning rate against steps, redrawn every epoch;
 *   <li>{@code savedmodel/NAME/1/}: the SavedModel exported at the end; {@code summary.json}.
 * </ul>
 *
 * <p>Every random choice (data order, augmentation, drop-path masks, dropout seeds, fresh weights) is a
 * function of (seed, epoch, step, sample) ({@link Seeds}), so a run stopped after k steps and resumed
 * takes exactly the steps the uninterrupted run takes: on CPU the final weights are bit-identical.
 */
public final class Trainer implements AutoCloseable {
  public static final String RUN_FILE = "run.json";
  public static final String CHECKPOINT_DIR = "checkpoint";
  public static final String BEST_DIR = "best";
  public static final String METRICS_FILE = "metrics.jsonl";
  public static final String CURVES_FILE = "curves.png";
  public static final String EXPORT_DIR = "savedmodel";
  public static final String SUMMARY_FILE = "summary.json";
  static final String STATE_PREFIX = "state";
  static final String STATE_FILE = "state.json";
  static final String BEST_WEIGHTS = "weights.safetensors";
  static final String FORMAT = "rest-tf-run";

  /** Settings that do not change a run's numbers (so they may differ on resume). */
  public record Settings(int workers, int prefetch, int evalBatch, ConfigProto session, Boolean initialEval,
      String exportName) {
    public static Settings defaults() {
      return new Settings(Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())), 4, 256, null, null, null);
    }

    public Settings withWorkers(int w) {
      return new Settings(w, prefetch, evalBatch, session, initialEval, exportName);
    }

    public Settings withSession(ConfigProto s) {
      return new Settings(workers, prefetch, evalBatch, s, initialEval, exportName);
    }

    public Settings withInitialEval(Boolean b) {
      return new Settings(workers, prefetch, evalBatch, session, b, exportName);
    }

    public Settings withExportName(String n) {
      return new Settings(workers, prefetch, evalBatch, session, initialEval, n);
    }

    public Settings withEvalBatch(int b) {
      return new Settings(workers, prefetch, b, session, initialEval, exportName);
    }
  }

  /** The shape of the run, told to the listener before the first step. */
  public record Plan(Path runDir, RestConfig config, int epochs, int stepsPerEpoch, long totalSteps, long startStep,
      int batch, int trainImages, int valImages, List<String> classes, long trainableParameters, int frozenTensors,
      double dropPath, List<String> javaGradients, String dataLayout, boolean resumed) {}

  /** How a run ended. {@code finished} false: stopped on request, resumable. */
  public record Result(boolean finished, long step, int epochsDone, Double valTop1, Double valTop5, Double emaTop1,
      Double bestTop1, String exportedWeights, Path export, double secondsPerStep, Path runDir) {}

  private final Path runDir;
  private final RestConfig config;
  private final TrainOptions options;
  private final DataSpec dataSpec;
  private final DataSpec.Data data;
  private final Settings settings;
  private final TrainingGraph graph;
  private final int stepsPerEpoch;
  private final LrSchedule schedule;
  private final double dropPath;
  private final double[] dropPathRates;
  private final boolean resumed;
  private final MetricsLog metrics;
  private volatile boolean stopRequested;

  // position and bookkeeping (persisted in state.json)
  private int epoch;
  private int stepInEpoch;
  private double bestTop1 = Double.NaN;
  private int bestEpoch;
  private double epochLossSum;
  private long epochCorrect;
  private long epochCount;
  private double epochSeconds;
  private long decodeErrors;
  private long stepsTimed;
  private double stepSecondsSum;
  private int warnings;

  private Trainer(Path runDir, RestConfig config, TrainOptions options, DataSpec dataSpec, DataSpec.Data data,
      Settings settings, TrainingGraph graph, boolean resumed) {
    this.runDir = runDir;
    this.config = config;
    this.options = options;
    this.dataSpec = dataSpec;
    this.data = data;
    this.settings = settings;
    this.graph = graph;
    this.resumed = resumed;
    this.stepsPerEpoch = data.train().size() / options.batch;
    this.schedule = options.schedule(stepsPerEpoch);
    this.dropPath = effectiveDropPath(options, config);
    this.dropPathRates = RestNetwork.dropPathRates(config, dropPath);
    this.metrics = new MetricsLog(runDir.resolve(METRICS_FILE));
  }

  private static double effectiveDropPath(TrainOptions o, RestConfig c) {
    return o.dropPath != null ? o.dropPath : c.dropPathRate();
  }

  // ---------------------------------------------------------------- starting and resuming

  /**
   * Starts a new run in {@code runDir} (which must not exist, or be empty). {@code init} null = train
   * from scratch (the official initialisation, seeded). The head gets {@code classes} outputs: a fresh
   * head when the weights' head has another size or {@code options.freshHead}. Everything is checked
   * before anything is written.
   */
  public static Trainer start(Path runDir, RestConfig config, ModelSource init, DataSpec dataSpec, TrainOptions options,
      Settings settings) {
    options.validate();
    runDir = runDir.toAbsolutePath().normalize();
    if (Files.exists(runDir)) {
      if (!Files.isDirectory(runDir)) throw new BadInputException(runDir + ": exists and is not a directory");
      if (Files.exists(runDir.resolve(RUN_FILE))) {
        throw new BadInputException(runDir + ": holds a run already (continue it with --resume " + runDir + ", or choose another --out)");
      }
      try (Stream<Path> s = Files.list(runDir)) {
        if (s.findAny().isPresent()) throw new BadInputException(runDir + ": exists and is not empty; choose another --out");
      } catch (IOException e) {
        throw new BadInputException(runDir + ": cannot read (" + e.getMessage() + ")");
      }
    }
    RestConfig base = init != null ? init.config() : config;
    DataSpec.Data data = dataSpec.open(base.inChans(), options.seed);
    checkData(data, options);
    int classes = data.classes().size();
    RestConfig cfg = base.withNumClasses(classes).validate();
    boolean newHead = init != null && (options.freshHead || init.config().numClasses() != classes);

    TrainingGraph graph = TrainingGraph.build(spec(cfg, options), settings.session());
    try {
      long initSeed = Seeds.value(options.seed, Seeds.Stream.INIT, 0, 0);
      RestModel.LoadReport report;
      if (init == null) {
        graph.initFresh(initSeed);
        report = null;
      } else {
        Pattern head = Pattern.compile("head\\..*");
        report = graph.load(init.stateDict(), newHead ? new RestModel.LoadOptions(head, head) : RestModel.LoadOptions.STRICT, initSeed);
      }
      Trainer t = new Trainer(runDir, cfg, options, dataSpec, data, settings, graph, false);
      t.writeRunFile(init, report, newHead);
      t.writeCheckpoint(false, null);
      return t;
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  private static void checkData(DataSpec.Data data, TrainOptions options) {
    int n = data.train().size();
    if (n == 0) throw new BadInputException("the training set is empty");
    if (options.batch > n) {
      throw new BadInputException("--batch " + options.batch + " is larger than the training set (" + n
          + " images): no full batch to train on");
    }
    if (data.classes().size() < 2) throw new BadInputException("a classifier needs at least two classes, the data has " + data.classes());
  }

  static TrainingGraph.Spec spec(RestConfig cfg, TrainOptions o) {
    Set<String> frozen = FreezeGroups.keys(o.freeze, TrainingGraph.officialKeys(cfg));
    return new TrainingGraph.Spec(cfg, true, effectiveDropPath(o, cfg), o.dropout, o.attnDropout, o.labelSmoothing > 0,
        frozen, o.weightDecay, o.decayAll, o.beta2, o.eps, o.clipNorm, o.ema, o.emaDecay);
  }

  /** What a resume was given on the command line, to check against the run (null fields: not given). */
  public record Given(RestConfig config, DataSpec data, TrainOptions options, String init) {
    public static final Given NOTHING = new Given(null, null, null, null);
  }

  /**
   * Continues the run in {@code runDir} where its last checkpoint left it, with its recorded config,
   * options and data. Anything in {@code given} must agree with the run; a difference is refused with
   * the differing fields.
   */
  public static Trainer resume(Path runDir, Given given, Settings settings) {
    runDir = runDir.toAbsolutePath().normalize();
    JsonNode run = readJson(runDir.resolve(RUN_FILE), runDir + ": not a training run directory (no " + RUN_FILE + ")");
    if (!FORMAT.equals(run.path("format").asText())) throw new BadInputException(runDir.resolve(RUN_FILE) + ": not a rest-tf run file");
    String src = runDir.resolve(RUN_FILE).toString();
    RestConfig cfg = RestConfig.fromJson(run.path("config").toString(), src);
    TrainOptions options = TrainOptions.fromJson(run.path("options"), src).validate();
    DataSpec dataSpec = DataSpec.fromJson(run.path("data"), src);
    if (given.config() != null && !given.config().withNumClasses(cfg.numClasses()).equals(cfg)) {
      List<String> diff = TrainOptions.differences(given.config().withNumClasses(cfg.numClasses()).toJsonNode(), cfg.toJsonNode());
      throw new BadInputException("--resume " + runDir + ": that run trains another model; the config given differs in "
          + String.join("; ", diff));
    }
    if (given.init() != null && !given.init().equals(run.path("init").path("source").asText(null))) {
      throw new BadInputException("--resume " + runDir + ": that run started from " + run.path("init").path("source").asText("fresh weights")
          + ", not " + given.init());
    }
    if (given.data() != null) {
      List<String> diff = TrainOptions.differences(strip(given.data().toJsonNode()), strip(dataSpec.toJsonNode()));
      if (!diff.isEmpty()) throw new BadInputException("--resume " + runDir + ": the data differs from the run's: " + String.join("; ", diff));
    }
    if (given.options() != null) {
      ObjectNode mine = given.options().toJsonNode();
      ObjectNode theirs = options.toJsonNode();
      List<String> diff = new ArrayList<>();
      mine.fieldNames().forEachRemaining(f -> {
        if (!TrainOptions.equalJson(mine.get(f), theirs.get(f))) {
          diff.add(f + " " + mine.get(f) + " (run: " + (theirs.has(f) ? theirs.get(f) : "unset") + ")");
        }
      });
      if (!diff.isEmpty()) {
        throw new BadInputException("--resume " + runDir + ": options differ from the run's: " + String.join("; ", diff)
            + " (a resumed run continues with its own options; leave them out)");
      }
    }
    Path ckpt = runDir.resolve(CHECKPOINT_DIR);
    if (!Files.isDirectory(ckpt)) ckpt = salvagedCheckpoint(runDir);
    JsonNode state = readJson(ckpt.resolve(STATE_FILE), runDir + ": no checkpoint to resume from (" + CHECKPOINT_DIR + "/" + STATE_FILE + " missing)");
    if (state.path("finished").asBoolean(false)) {
      throw new BadInputException("--resume " + runDir + ": that run has finished (" + options.epochs + " epochs); nothing to resume");
    }
    DataSpec.Data data = dataSpec.open(cfg.inChans(), options.seed);
    checkData(data, options);
    if (!data.classes().equals(jsonStrings(run.path("classes")))) {
      throw new BadInputException("--resume " + runDir + ": the data's classes " + data.classes() + " differ from the run's "
          + jsonStrings(run.path("classes")));
    }
    if (data.train().size() / options.batch != run.path("steps_per_epoch").asInt()) {
      throw new BadInputException("--resume " + runDir + ": the training set has changed (" + data.train().size()
          + " images now, " + run.path("train_images").asInt() + " in the run)");
    }
    TrainingGraph graph = TrainingGraph.build(spec(cfg, options), settings.session());
    try {
      graph.restore(ckpt.resolve(STATE_PREFIX));
      Trainer t = new Trainer(runDir, cfg, options, dataSpec, data, settings, graph, true);
      t.readState(state);
      t.metrics.truncateAfter(t.globalStep());
      return t;
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  private static ObjectNode strip(ObjectNode n) {
    ObjectNode c = n.deepCopy();
    JsonNode p = c.get("preprocessing");
    if (p instanceof ObjectNode po) {
      ObjectNode keep = TrainOptions.JSON.createObjectNode();
      for (String f : List.of("size", "crop_pct", "resize_size", "pad", "upsample", "mean", "std")) if (po.has(f)) keep.set(f, po.get(f));
      c.set("preprocessing", keep);
    }
    return c;
  }

  /** A checkpoint moved aside by an interrupted replacement (see AtomicFiles.writeDirectory), if the current one is missing. */
  private static Path salvagedCheckpoint(Path runDir) {
    try (Stream<Path> s = Files.list(runDir)) {
      return s.filter(p -> p.getFileName().toString().startsWith(".tmp-" + CHECKPOINT_DIR + "-old-"))
          .filter(p -> Files.isRegularFile(p.resolve(STATE_FILE))).findFirst()
          .orElse(runDir.resolve(CHECKPOINT_DIR));
    } catch (IOException e) {
      return runDir.resolve(CHECKPOINT_DIR);
    }
  }

  // ---------------------------------------------------------------- running

  /** Asks the run to stop after the current step; it then writes a checkpoint and {@link #run} returns. Thread-safe. */
  public void requestStop() {
    stopRequested = true;
  }

  public boolean stopRequested() {
    return stopRequested;
  }

  public Path runDir() {
    return runDir;
  }

  public RestConfig config() {
    return config;
  }

  public TrainOptions options() {
    return options;
  }

  public TrainingGraph graph() {
    return graph;
  }

  public DataSpec.Data data() {
    return data;
  }

  /** Optimisation steps taken so far. */
  public long globalStep() {
    return (long) epoch * stepsPerEpoch + stepInEpoch;
  }

  public Plan plan() {
    long trainable = 0;
    for (String k : graph.trainableKeys()) trainable += graph.parameterSize(k);
    return new Plan(runDir, config, options.epochs, stepsPerEpoch, (long) stepsPerEpoch * options.epochs, globalStep(),
        options.batch, data.train().size(), data.val() == null ? 0 : data.val().size(), data.classes(), trainable,
        graph.spec().frozen().size(), dropPath, graph.gradientReport().registeredInJava(), data.layout(), resumed);
  }

  /**
   * Trains to the end (then exports) or until {@link #requestStop}. A non-finite loss or gradient stops
   * it with a {@link TrainingDivergedException}, leaving the last checkpoint as it was.
   */
  public Result run(TrainingListener listener) {
    listener = listener == null ? new TrainingListener() {} : listener;
    listener.onStart(plan());
    Evaluation lastModel = null, lastEma = null;
    boolean initialEval = settings.initialEval() != null ? settings.initialEval() : false;
    if (globalStep() == 0 && !resumed && initialEval && data.val() != null) {
      lastModel = evaluate(TrainingGraph.Weights.MODEL, 0, listener);
    }
    while (epoch < options.epochs) {
      listener.onEpochStart(epoch + 1, options.epochs, stepsPerEpoch, stepInEpoch + 1);
      if (stepInEpoch < stepsPerEpoch && !trainEpoch(listener)) {
        drawCurves();
        writeCheckpoint(false, listener);
        return result(false, lastModel, lastEma, null, null);
      }
      // end of epoch
      long step = globalStep();
      double trainLoss = epochCount == 0 ? Double.NaN : epochLossSum / epochCount;
      double trainTop1 = epochCount == 0 ? Double.NaN : (double) epochCorrect / epochCount;
      if (data.val() != null) {
        lastModel = evaluate(TrainingGraph.Weights.MODEL, epoch + 1, listener);
        if (options.ema) lastEma = evaluate(TrainingGraph.Weights.EMA, epoch + 1, listener);
        if (Double.isNaN(bestTop1) || lastModel.top1() > bestTop1) {
          bestTop1 = lastModel.top1();
          bestEpoch = epoch + 1;
          writeBest(step);
        }
      }
      ObjectNode line = TrainOptions.JSON.createObjectNode();
      line.put("kind", "epoch");
      line.put("epoch", epoch + 1);
      line.put("step", step);
      line.put("train_loss", trainLoss);
      line.put("train_top1", trainTop1);
      line.put("seconds", epochSeconds);
      line.put("images_per_s", epochSeconds > 0 ? epochCount / epochSeconds : 0);
      line.put("decode_errors", decodeErrors);
      metrics.append(line);
      listener.onEpochEnd(new TrainingListener.EpochEvent(epoch + 1, options.epochs, step, trainLoss, trainTop1,
          epochSeconds, epochSeconds > 0 ? epochCount / epochSeconds : 0, decodeErrors));
      epoch++;
      stepInEpoch = 0;
      epochLossSum = 0;
      epochCorrect = 0;
      epochCount = 0;
      epochSeconds = 0;
      drawCurves();
      if (epoch < options.epochs) {
        writeCheckpoint(false, listener);
        if (stopRequested) return result(false, lastModel, lastEma, null, null);
      }
    }
    String which = exportWeightsChoice(lastEma);
    Path export = export(which, listener);
    writeCheckpoint(true, listener);
    Result r = result(true, lastModel, lastEma, which, export);
    writeSummary(r);
    return r;
  }

  /** The steps of the current epoch from {@link #stepInEpoch}; false if stopped on request. */
  private boolean trainEpoch(TrainingListener listener) {
    int b = options.batch;
    int[] order = Seeds.permutation(data.train().size(), Seeds.rng(options.seed, Seeds.Stream.ORDER, epoch, 0));
    final int e = epoch;
    ImagePipeline pipe = data.pipeline();
    boolean rrc = TrainOptions.RRC_FLIP.equals(options.augment);
    boolean flip = rrc || TrainOptions.FLIP.equals(options.augment);
    boolean batchFlip = TrainOptions.BATCH_FLIP.equals(options.augment);
    int sample = pipe.sampleSize();
    Dataset train = data.train();
    try (Prefetcher<Loaded> loader = new Prefetcher<>(j -> {
      float[] px = new float[b * sample];
      int[] labels = new int[b];
      List<String> errors = new ArrayList<>();
      int n = 0;
      for (int p = 0; p < b; p++) {
        int idx = order[j * b + p];
        try {
          io.resttf.training.data.Image img = train.image(idx);
          SplittableRandom rng = Seeds.rng(options.seed, Seeds.Stream.AUGMENT, e, (long) j * b + p);
          pipe.train(img, rng, rrc, options.rrcMinScale, flip, px, n * sample);
          labels[n++] = train.label(idx);
        } catch (Dataset.DecodeException ex) {
          errors.add(ex.getMessage());
        }
      }
      if (batchFlip && Seeds.rng(options.seed, Seeds.Stream.BATCH_FLIP, e, j).nextDouble() < 0.5) {
        for (int i = 0; i < n; i++) pipe.flipInPlace(px, i * sample);
      }
      return new Loaded(px, labels, n, errors);
    }, stepInEpoch, stepsPerEpoch, settings.workers(), settings.prefetch())) {
      long last = System.nanoTime();
      while (stepInEpoch < stepsPerEpoch) {
        Loaded batch = loader.next();
        reportDecodeErrors(batch.errors, listener);
        if (batch.n == 0) {
          throw new BadInputException("no image of training batch " + (stepInEpoch + 1) + " (epoch " + (epoch + 1)
              + ") could be decoded: " + batch.errors.get(0));
        }
        long t = globalStep();
        double lr = schedule.lr(t);
        double beta1 = schedule.beta1(t);
        if (!Double.isFinite(lr) || !Double.isFinite(beta1)) {
          throw new IllegalStateException("schedule gave lr " + lr + ", beta1 " + beta1 + " at step " + t);
        }
        TrainingGraph.Batch tb = trainBatch(batch, t);
        long t0 = System.nanoTime();
        TrainingGraph.StepResult r = graph.step(tb, new TrainingGraph.StepScalars(lr, beta1, options.beta2, t + 1, options.weightDecay));
        long t1 = System.nanoTime();
        if (!Float.isFinite(r.loss()) || !Float.isFinite(r.gradNorm())) {
          throw diverged(r, t + 1, lr);
        }
        double secs = (t1 - last) / 1e9;
        last = t1;
        if (t > 1 || resumed) {
          stepsTimed++;
          stepSecondsSum += (t1 - t0) / 1e9;
        }
        int correct = 0;
        int k = config.numClasses();
        for (int i = 0; i < batch.n; i++) {
          int best = 0;
          for (int c = 1; c < k; c++) if (r.logits()[i * k + c] > r.logits()[i * k + best]) best = c;
          if (best == batch.labels[i]) correct++;
        }
        epochLossSum += (double) r.loss() * batch.n;
        epochCorrect += correct;
        epochCount += batch.n;
        epochSeconds += secs;
        stepInEpoch++;
        ObjectNode line = TrainOptions.JSON.createObjectNode();
        line.put("kind", "step");
        line.put("step", t + 1);
        line.put("epoch", epoch + 1);
        line.put("loss", r.loss());
        line.put("lr", lr);
        line.put("grad_norm", r.gradNorm());
        line.put("batch_top1", batch.n == 0 ? 0 : (double) correct / batch.n);
        line.put("images_per_s", batch.n / secs);
        metrics.append(line);
        listener.onStep(new TrainingListener.StepEvent(epoch + 1, options.epochs, stepInEpoch, stepsPerEpoch, t + 1,
            (long) stepsPerEpoch * options.epochs, r.loss(), lr, r.gradNorm(), batch.n / secs, (t1 - t0) / 1e9));
        if (stopRequested && stepInEpoch < stepsPerEpoch) return false;
      }
      return true;
    }
  }

  private record Loaded(float[] pixels, int[] labels, int n, List<String> errors) {}

  private TrainingGraph.Batch trainBatch(Loaded b, long step) {
    int n = b.n, k = config.numClasses(), side = data.pipeline().inputSize(), c = config.inChans();
    float[] px = b.pixels.length == n * side * side * c ? b.pixels : java.util.Arrays.copyOf(b.pixels, n * side * side * c);
    int[] labels = java.util.Arrays.copyOf(b.labels, n);
    float[] targets = null;
    if (options.labelSmoothing > 0) {
      targets = new float[n * k];
      float off = (float) (options.labelSmoothing / k);
      float on = (float) (1 - options.labelSmoothing + options.labelSmoothing / k);
      java.util.Arrays.fill(targets, off);
      for (int i = 0; i < n; i++) targets[i * k + labels[i]] = on;
    }
    float[] masks = null;
    if (dropPath > 0) {
      int blocks = dropPathRates.length;
      masks = new float[2 * blocks * n];
      SplittableRandom rng = Seeds.rng(options.seed, Seeds.Stream.DROP_PATH, epoch, step);
      for (int blk = 0; blk < blocks; blk++) {
        double p = dropPathRates[blk];
        float kept = (float) (1.0 / (1.0 - p));
        for (int row = 2 * blk; row <= 2 * blk + 1; row++) {
          for (int i = 0; i < n; i++) {
            // timm: floor(keep_prob + U[0,1)) → kept with probability keep_prob
            masks[row * n + i] = p == 0 ? 1f : (rng.nextDouble() < 1 - p ? kept : 0f);
          }
        }
      }
    }
    long[] seed = null;
    if (options.dropout > 0 || options.attnDropout > 0) {
      seed = new long[] {Seeds.value(options.seed, Seeds.Stream.DROPOUT, epoch, step), step};
    }
    return new TrainingGraph.Batch(new long[] {n, side, side, c}, px, labels, targets, masks, seed);
  }

  private TrainingDivergedException diverged(TrainingGraph.StepResult r, long step, double lr) {
    String what = !Float.isFinite(r.loss()) ? "the loss is " + r.loss() : "the gradient norm is " + r.gradNorm();
    long saved = readSavedStep();
    return new TrainingDivergedException(String.format(Locale.ROOT,
        "%s at step %d (epoch %d, lr %.3g): training stopped; the last good checkpoint (step %d) in %s is intact"
            + " — try a lower --lr, or check the data", what, step, epoch + 1, lr, saved, runDir.resolve(CHECKPOINT_DIR)));
  }

  private long readSavedStep() {
    try {
      JsonNode s = TrainOptions.JSON.readTree(runDir.resolve(CHECKPOINT_DIR).resolve(STATE_FILE).toFile());
      return s.path("step").asLong();
    } catch (IOException e) {
      return -1;
    }
  }

  private void reportDecodeErrors(List<String> errors, TrainingListener listener) {
    for (String e : errors) {
      decodeErrors++;
      if (warnings < 10) listener.onWarning("skipped an image that cannot be decoded: " + e);
      else if (warnings == 10) listener.onWarning("more images cannot be decoded; the count is in metrics.jsonl (decode_errors)");
      warnings++;
    }
  }

  /** Evaluates {@code which} weights on the validation set and logs it. */
  private Evaluation evaluate(TrainingGraph.Weights which, int epochNo, TrainingListener listener) {
    graph.prepareEval(which);
    List<String> errors = new ArrayList<>();
    Evaluation ev = evaluate(graph, data.val(), data.pipeline(), settings, which == TrainingGraph.Weights.EMA ? "ema" : "model",
        listener, errors::add);
    if (which == TrainingGraph.Weights.MODEL) reportDecodeErrors(errors, listener);
    ObjectNode line = TrainOptions.JSON.createObjectNode();
    line.put("kind", "eval");
    line.put("epoch", epochNo);
    line.put("step", globalStep());
    line.put("weights", which == TrainingGraph.Weights.EMA ? "ema" : "model");
    line.put("loss", ev.loss());
    line.put("top1", ev.top1());
    line.put("top5", ev.top5());
    line.put("images", ev.count());
    metrics.append(line);
    listener.onEvaluated(new TrainingListener.EvalEvent(epochNo, globalStep(), which == TrainingGraph.Weights.EMA ? "ema" : "model",
        ev.loss(), ev.top1(), ev.top5(), ev.count()));
    return ev;
  }

  /** Runs the evaluation network (after prepareEval) over {@code ds}; decode failures go to {@code onError}. */
  static Evaluation evaluate(TrainingGraph graph, Dataset ds, ImagePipeline pipe, Settings settings, String what,
      TrainingListener listener, java.util.function.Consumer<String> onError) {
    int eb = settings.evalBatch();
    int n = ds.size();
    int batches = (n + eb - 1) / eb;
    int sample = pipe.sampleSize();
    Evaluation ev = new Evaluation(graph.config().numClasses());
    try (Prefetcher<Loaded> loader = new Prefetcher<>(j -> {
      int from = j * eb, to = Math.min(n, from + eb);
      float[] px = new float[(to - from) * sample];
      int[] labels = new int[to - from];
      List<String> errors = new ArrayList<>();
      int m = 0;
      for (int i = from; i < to; i++) {
        try {
          pipe.eval(ds.image(i), px, m * sample);
          labels[m++] = ds.label(i);
        } catch (Dataset.DecodeException e) {
          errors.add(e.getMessage());
        }
      }
      return new Loaded(px, labels, m, errors);
    }, 0, batches, settings.workers(), settings.prefetch())) {
      long done = 0;
      while (loader.hasNext()) {
        Loaded b = loader.next();
        b.errors.forEach(onError);
        done += b.n + b.errors.size();
        if (b.n > 0) {
          float[] px = b.pixels.length == b.n * sample ? b.pixels : java.util.Arrays.copyOf(b.pixels, b.n * sample);
          float[] logits = graph.evalLogits(new long[] {b.n, pipe.inputSize(), pipe.inputSize(), pipe.channels()}, px);
          ev.add(logits, b.labels, b.n);
        }
        if (listener != null) listener.onEvalProgress(what, done, n);
      }
    }
    return ev;
  }

  /**
   * auto: with validation data, the EMA weights if they validate at least as well as the best model
   * weights, else the best; without, the EMA weights if kept, else the last.
   */
  private String exportWeightsChoice(Evaluation lastEma) {
    String e = options.export;
    if (TrainOptions.EXPORT_AUTO.equals(e)) {
      if (data.val() == null) return options.ema ? TrainOptions.EXPORT_EMA : TrainOptions.EXPORT_LAST;
      if (options.ema && lastEma != null && (Double.isNaN(bestTop1) || lastEma.top1() >= bestTop1)) return TrainOptions.EXPORT_EMA;
      return TrainOptions.EXPORT_BEST;
    }
    if (TrainOptions.EXPORT_BEST.equals(e) && data.val() == null) return TrainOptions.EXPORT_LAST;
    return e;
  }

  private Path export(String which, TrainingListener listener) {
    Map<String, HostTensor> sd;
    Path best = runDir.resolve(BEST_DIR).resolve(BEST_WEIGHTS);
    if (TrainOptions.EXPORT_EMA.equals(which)) {
      sd = graph.stateDict(TrainingGraph.Weights.EMA);
    } else if (TrainOptions.EXPORT_BEST.equals(which) && Files.isRegularFile(best)) {
      sd = Safetensors.read(best);
    } else {
      sd = graph.stateDict(TrainingGraph.Weights.MODEL);
    }
    ExportMetadata meta = ExportMetadata.defaults().withLabels(data.classes())
        .withPreprocessing(data.pipeline().preprocessing()).withSource(runDir.toString(), null);
    String name = settings.exportName() != null ? settings.exportName() : exportName(runDir);
    SavedModelExporter.Result r = new SavedModelExporter(runDir.resolve(EXPORT_DIR))
        .export(name, config, sd, meta, SavedModelExporter.Options.DEFAULT.withVersion(1).withForce(true));
    listener.onExport(r.versionDir());
    return r.versionDir();
  }

  /** A valid SavedModel name from the run directory's name. */
  static String exportName(Path runDir) {
    String n = runDir.getFileName() == null ? "model" : runDir.getFileName().toString().replaceAll("[^A-Za-z0-9_.-]", "_");
    while (n.startsWith(".")) n = n.substring(1);
    if (n.isEmpty() || !SavedModelExporter.isValidModelName(n)) n = "model";
    return n;
  }

  private Result result(boolean finished, Evaluation model, Evaluation ema, String which, Path export) {
    return new Result(finished, globalStep(), epoch, model == null ? null : model.top1(), model == null ? null : model.top5(),
        ema == null ? null : ema.top1(), Double.isNaN(bestTop1) ? null : bestTop1, which, export,
        stepsTimed == 0 ? Double.NaN : stepSecondsSum / stepsTimed, runDir);
  }

  // ---------------------------------------------------------------- files

  private void writeRunFile(ModelSource init, RestModel.LoadReport report, boolean newHead) {
    ObjectNode n = TrainOptions.JSON.createObjectNode();
    n.put("format", FORMAT);
    n.put("format_version", 1);
    n.put("created", Instant.now().toString());
    n.set("config", config.toJsonNode());
    n.set("options", options.toJsonNode());
    n.set("data", dataSpec.toJsonNode());
    n.put("data_layout", data.layout());
    ArrayNode cl = n.putArray("classes");
    data.classes().forEach(cl::add);
    n.put("train_images", data.train().size());
    n.put("val_images", data.val() == null ? 0 : data.val().size());
    n.put("steps_per_epoch", stepsPerEpoch);
    n.put("drop_path", dropPath);
    ObjectNode in = n.putObject("init");
    if (init == null) {
      in.put("source", (String) null);
      in.put("weights", "fresh (official initialisation, seed " + options.seed + ")");
    } else {
      in.put("source", init.source());
      in.put("fresh_head", newHead);
      in.putPOJO("fresh", report.fresh());
      in.putPOJO("dropped", report.dropped());
    }
    ArrayNode fr = n.putArray("frozen_keys");
    graph.spec().frozen().stream().sorted().forEach(fr::add);
    ArrayNode jg = n.putArray("java_gradients");
    graph.gradientReport().registeredInJava().forEach(jg::add);
    try {
      Files.createDirectories(runDir);
      writeAtomically(runDir.resolve(RUN_FILE), TrainOptions.JSON.writeValueAsString(n));
    } catch (IOException e) {
      throw new UncheckedIOException(runDir + ": cannot write (" + e.getMessage() + ")", e);
    }
  }

  private void writeCheckpoint(boolean finished, TrainingListener listener) {
    ObjectNode s = TrainOptions.JSON.createObjectNode();
    s.put("step", globalStep());
    s.put("epoch", epoch);
    s.put("step_in_epoch", stepInEpoch);
    s.put("steps_per_epoch", stepsPerEpoch);
    s.put("finished", finished);
    s.put("seed", options.seed);
    s.put("rng", "derived from (seed, stream, epoch, step, sample); nothing else to restore");
    if (!Double.isNaN(bestTop1)) {
      s.put("best_top1", bestTop1);
      s.put("best_epoch", bestEpoch);
    }
    s.put("epoch_loss_sum", epochLossSum);
    s.put("epoch_correct", epochCorrect);
    s.put("epoch_count", epochCount);
    s.put("epoch_seconds", epochSeconds);
    s.put("decode_errors", decodeErrors);
    s.put("written", Instant.now().toString());
    AtomicFiles.writeDirectory(runDir.resolve(CHECKPOINT_DIR), true, dir -> {
      graph.save(dir.resolve(STATE_PREFIX));
      Files.writeString(dir.resolve(STATE_FILE), TrainOptions.JSON.writeValueAsString(s));
    });
    if (listener != null) listener.onCheckpoint(runDir.resolve(CHECKPOINT_DIR), globalStep());
  }

  private void readState(JsonNode s) {
    long step = s.path("step").asLong();
    epoch = s.path("epoch").asInt();
    stepInEpoch = s.path("step_in_epoch").asInt();
    if ((long) epoch * stepsPerEpoch + stepInEpoch != step || s.path("steps_per_epoch").asInt() != stepsPerEpoch) {
      throw new BadInputException(runDir.resolve(CHECKPOINT_DIR).resolve(STATE_FILE) + ": inconsistent position (step " + step
          + ", epoch " + epoch + ", step in epoch " + stepInEpoch + ")");
    }
    bestTop1 = s.has("best_top1") ? s.get("best_top1").asDouble() : Double.NaN;
    bestEpoch = s.path("best_epoch").asInt();
    epochLossSum = s.path("epoch_loss_sum").asDouble();
    epochCorrect = s.path("epoch_correct").asLong();
    epochCount = s.path("epoch_count").asLong();
    epochSeconds = s.path("epoch_seconds").asDouble();
    decodeErrors = s.path("decode_errors").asLong();
  }

  private void writeBest(long step) {
    Map<String, HostTensor> sd = graph.stateDict(TrainingGraph.Weights.MODEL);
    ObjectNode b = TrainOptions.JSON.createObjectNode();
    b.put("epoch", bestEpoch);
    b.put("step", step);
    b.put("top1", bestTop1);
    AtomicFiles.writeDirectory(runDir.resolve(BEST_DIR), true, dir -> {
      Safetensors.write(dir.resolve(BEST_WEIGHTS), sd, Map.of("format", "pt", "epoch", Integer.toString(bestEpoch)));
      Files.writeString(dir.resolve("best.json"), TrainOptions.JSON.writeValueAsString(b));
    });
  }

  private void writeSummary(Result r) {
    ObjectNode s = TrainOptions.JSON.createObjectNode();
    s.put("finished", r.finished());
    s.put("steps", r.step());
    s.put("epochs", r.epochsDone());
    if (r.valTop1() != null) s.put("val_top1", r.valTop1());
    if (r.valTop5() != null) s.put("val_top5", r.valTop5());
    if (r.emaTop1() != null) s.put("ema_val_top1", r.emaTop1());
    if (r.bestTop1() != null) {
      s.put("best_val_top1", r.bestTop1());
      s.put("best_epoch", bestEpoch);
    }
    s.put("exported_weights", r.exportedWeights());
    s.put("export", r.export() == null ? null : r.export().toString());
    s.put("seconds_per_step", r.secondsPerStep());
    s.put("decode_errors", decodeErrors);
    try {
      writeAtomically(runDir.resolve(SUMMARY_FILE), TrainOptions.JSON.writeValueAsString(s));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void drawCurves() {
    try {
      metrics.drawCurves(runDir.resolve(CURVES_FILE), runDir.getFileName() + " — " + config.family() + " "
          + config.embedDims() + ", batch " + options.batch);
    } catch (RuntimeException | Error e) {
      // a missing font or display library must not stop a training run
    }
  }

  static void writeAtomically(Path file, String text) throws IOException {
    AtomicFiles.writeString(file, text);
  }


  private static JsonNode readJson(Path file, String missing) {
    if (!Files.isRegularFile(file)) throw new BadInputException(missing);
    try {
      return TrainOptions.JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new BadInputException(file + ": unreadable (" + e.getMessage() + ")");
    }
  }

  private static List<String> jsonStrings(JsonNode a) {
    List<String> out = new ArrayList<>();
    a.forEach(x -> out.add(x.asText()));
    return out;
  }

  @Override
  public void close() {
    graph.close();
  }

  /** Map of checkpoint name → values of every saved variable; for tests comparing runs. */
  public Map<String, float[]> snapshot() {
    return new LinkedHashMap<>(graph.allVariables());
  }
}
