package io.resttf.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.model.ResourceEstimate;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.serving.ExportMetadata;
import io.resttf.serving.SavedModelExporter;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.training.data.Prefetcher;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.tensorflow.proto.ConfigProto;

/**
 * A training run in a run directory ({@link RunDirectory}): starts one ({@link #start}) or continues one
 * ({@link #resume}), then {@link #run}s its epoch loop to the end or until {@link #requestStop} (Ctrl-C in
 * the CLI). The parts have their own classes: the graph ({@link TrainingGraph}), what a step is fed
 * ({@link StepInputs}), validation ({@link Evaluator}), the files ({@link RunDirectory}); this class wires
 * them and keeps the position and epoch statistics that go into each checkpoint.
 *
 * <p>Every random choice (data order, augmentation, drop-path masks, dropout seeds, fresh weights) is a
 * function of (seed, epoch, step, sample) ({@link Seeds}), so a run stopped after k steps and resumed
 * takes exactly the steps the uninterrupted run takes: on CPU the final weights are bit-identical.
 */
public final class Trainer implements AutoCloseable {
  // the run directory's file names, kept here for callers of the Trainer API
  public static final String RUN_FILE = RunDirectory.RUN_FILE;
  public static final String CHECKPOINT_DIR = RunDirectory.CHECKPOINT_DIR;
  public static final String BEST_DIR = RunDirectory.BEST_DIR;
  public static final String METRICS_FILE = RunDirectory.METRICS_FILE;
  public static final String CURVES_FILE = RunDirectory.CURVES_FILE;
  public static final String EXPORT_DIR = RunDirectory.EXPORT_DIR;
  public static final String SUMMARY_FILE = RunDirectory.SUMMARY_FILE;

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

  private final RunDirectory run;
  private final RestConfig config;
  private final TrainOptions options;
  private final DataSpec.Data data;
  private final Settings settings;
  private final TrainingGraph graph;
  private final StepInputs inputs;
  private final Evaluator evaluator;
  private final int stepsPerEpoch;
  private final LrSchedule schedule;
  private final double dropPath;
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

  private Trainer(RunDirectory run, RestConfig config, TrainOptions options, DataSpec.Data data, Settings settings,
      TrainingGraph graph, boolean resumed) {
    this.run = run;
    this.config = config;
    this.options = options;
    this.data = data;
    this.settings = settings;
    this.graph = graph;
    this.resumed = resumed;
    this.dropPath = StepInputs.dropPath(options, config);
    this.inputs = new StepInputs(options, config, data, dropPath);
    this.evaluator = new Evaluator(settings.evalBatch(), settings.workers(), settings.prefetch());
    this.stepsPerEpoch = inputs.stepsPerEpoch();
    this.schedule = options.schedule(stepsPerEpoch);
    this.metrics = run.metrics();
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
    RunDirectory run = RunDirectory.forNewRun(runDir);
    RestConfig base = init != null ? init.config() : config;
    DataSpec.Data data = dataSpec.open(base.inChans(), options.seed);
    checkData(data, options);
    int classes = data.classes().size();
    RestConfig cfg = base.withNumClasses(classes).validate();
    checkFits(cfg, options, data);
    boolean newHead = init != null && (options.freshHead || init.config().numClasses() != classes);

    return withGraph(cfg, options, settings, graph -> {
      long initSeed = Seeds.value(options.seed, Seeds.Stream.INIT, 0, 0);
      RestModel.LoadReport report;
      if (init == null) {
        graph.initFresh(initSeed);
        report = null;
      } else {
        Pattern head = Pattern.compile("head\\..*");
        report = graph.load(init.stateDict(), newHead ? new RestModel.LoadOptions(head, head) : RestModel.LoadOptions.STRICT, initSeed);
      }
      Trainer t = new Trainer(run, cfg, options, data, settings, graph, false);
      run.writeRunFile(new RunRecord(cfg, options, dataSpec, data.layout(), data.classes(), data.train().size(),
          data.val() == null ? 0 : data.val().size(), t.stepsPerEpoch, t.dropPath, RunRecord.init(init, report, newHead, options.seed),
          graph.frozenKeys().stream().sorted().toList(), graph.gradientReport().registeredInJava()).toJson());
      run.writeRecipe(options);
      t.writeCheckpoint(false, null);
      return t;
    });
  }

  /** The trained parameters' groups by layer-wise lr decay (one group, scale 1, when it is off). */
  public List<LayerDecay.Group> parameterGroups() {
    return LayerDecay.groups(graph.trainableKeys(), config.depths(), options.layerDecay);
  }

  /** Builds the run's graph and sets the trainer up on it; the graph is closed if that fails. */
  private static Trainer withGraph(RestConfig cfg, TrainOptions options, Settings settings, Function<TrainingGraph, Trainer> setUp) {
    TrainingGraph graph = TrainingGraph.build(spec(cfg, options), settings.session());
    try {
      return setUp.apply(graph);
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

  /** Refuses, before the graph is built, a training step that cannot fit in this machine's memory. */
  private static void checkFits(RestConfig cfg, TrainOptions options, DataSpec.Data data) {
    int side = data.pipeline().inputSize();
    String what = "--batch " + options.batch + " at " + side + "x" + side;
    ResourceEstimate.require(what, cfg, options.batch, side, side, true).requireInputOnHeap(what);
  }

  static TrainingGraph.Spec spec(RestConfig cfg, TrainOptions o) {
    return TrainingGraph.Spec.of(cfg).withDropPath(StepInputs.dropPath(o, cfg)).withDropout(o.dropout, o.attnDropout)
        .withSoftTargets(o.labelSmoothing > 0 || o.mixing()).withLayerDecay(o.layerDecay).withFrozenGroups(o.freeze)
        .withOptimizer(o.weightDecay, o.decayAll, o.beta2, o.eps, o.clipNorm).withEma(o.ema, o.emaDecay);
  }

  /**
   * What a resume was given on the command line, to check against the run (null fields: not given).
   * {@code dataChoices}: data options given without the data itself ({@code --limit} alone).
   */
  public record Given(RestConfig config, DataSpec data, TrainOptions options, String init, DataChoices dataChoices) {
    public static final Given NOTHING = new Given(null, null, null, null);

    public Given(RestConfig config, DataSpec data, TrainOptions options, String init) {
      this(config, data, options, init, DataChoices.NONE);
    }
  }

  /** Options that shape a run's {@link DataSpec}, given on their own (null: not given). */
  public record DataChoices(Integer limit, Double valSplit, Integer size) {
    public static final DataChoices NONE = new DataChoices(null, null, null);
  }

  /**
   * Continues the run in {@code runDir} where its newest checkpoint left it (the epoch checkpoint or a
   * later step checkpoint), with its recorded config, options and data. Anything in {@code given} must
   * agree with the run; a difference is refused with the differing fields.
   */
  public static Trainer resume(Path runDir, Given given, Settings settings) {
    RunDirectory run = RunDirectory.existing(runDir);
    RunRecord record = RunRecord.fromJson(run.readRunFile(), run.runFileName());
    record.checkAgrees(given, run);
    RestConfig cfg = record.config();
    TrainOptions options = record.options();
    Path ckpt = run.resumableCheckpoint();
    JsonNode state = run.readState(ckpt);
    if (state.path("finished").asBoolean(false)) {
      throw new BadInputException("--resume " + run + ": that run has finished (" + options.epochs + " epochs); nothing to resume");
    }
    DataSpec.Data data = record.data().open(cfg.inChans(), options.seed);
    checkData(data, options);
    if (!data.classes().equals(record.classes())) {
      throw new BadInputException("--resume " + run + ": the data's classes " + data.classes() + " differ from the run's " + record.classes());
    }
    if (StepInputs.stepsPerEpoch(data.train().size(), options) != record.stepsPerEpoch()) {
      throw new BadInputException("--resume " + run + ": the training set has changed (" + data.train().size()
          + " images now, " + record.trainImages() + " in the run)");
    }
    checkFits(cfg, options, data);
    return withGraph(cfg, options, settings, graph -> {
      graph.restore(RunDirectory.statePrefix(ckpt));
      Trainer t = new Trainer(run, cfg, options, data, settings, graph, true);
      t.readState(state, ckpt);
      t.metrics.truncateAfter(t.globalStep());
      return t;
    });
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
    return run.path();
  }

  /** The run's files. */
  public RunDirectory runDirectory() {
    return run;
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
    return new Plan(run.path(), config, options.epochs, stepsPerEpoch, (long) stepsPerEpoch * options.epochs, globalStep(),
        options.batch, data.train().size(), data.val() == null ? 0 : data.val().size(), data.classes(), trainable,
        graph.frozenKeys().size(), dropPath, graph.gradientReport().registeredInJava(), data.layout(), resumed);
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
      if (data.val() != null) {
        lastModel = evaluate(TrainingGraph.Weights.MODEL, epoch + 1, listener);
        if (options.ema) lastEma = evaluate(TrainingGraph.Weights.EMA, epoch + 1, listener);
        if (Double.isNaN(bestTop1) || lastModel.top1() > bestTop1) {
          bestTop1 = lastModel.top1();
          bestEpoch = epoch + 1;
          run.writeBest(graph.stateDict(TrainingGraph.Weights.MODEL), bestEpoch, step, bestTop1);
        }
      }
      endEpoch(step, listener);
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
    run.writeSummary(summary(r));
    return r;
  }

  /** Logs the finished epoch's training statistics and moves to the next epoch. */
  private void endEpoch(long step, TrainingListener listener) {
    double trainLoss = epochCount == 0 ? Double.NaN : epochLossSum / epochCount;
    double trainTop1 = epochCount == 0 ? Double.NaN : (double) epochCorrect / epochCount;
    double imagesPerSecond = epochSeconds > 0 ? epochCount / epochSeconds : 0;
    ObjectNode line = TrainOptions.JSON.createObjectNode();
    line.put("kind", "epoch");
    line.put("epoch", epoch + 1);
    line.put("step", step);
    line.put("train_loss", trainLoss);
    line.put("train_top1", trainTop1);
    line.put("seconds", epochSeconds);
    line.put("images_per_s", imagesPerSecond);
    line.put("decode_errors", decodeErrors);
    metrics.append(line);
    listener.onEpochEnd(new TrainingListener.EpochEvent(epoch + 1, options.epochs, step, trainLoss, trainTop1,
        epochSeconds, imagesPerSecond, decodeErrors));
    epoch++;
    stepInEpoch = 0;
    epochLossSum = 0;
    epochCorrect = 0;
    epochCount = 0;
    epochSeconds = 0;
  }

  /** The steps of the current epoch from {@link #stepInEpoch}; false if stopped on request. */
  private boolean trainEpoch(TrainingListener listener) {
    try (Prefetcher<PixelBatch> loader = inputs.epoch(epoch, stepInEpoch, settings.workers(), settings.prefetch())) {
      long last = System.nanoTime();
      while (stepInEpoch < stepsPerEpoch) {
        PixelBatch batch = loader.next();
        reportDecodeErrors(batch.errors(), listener);
        if (batch.n() == 0) {
          throw new BadInputException("no image of training batch " + (stepInEpoch + 1) + " (epoch " + (epoch + 1)
              + ") could be decoded: " + batch.errors().get(0));
        }
        long t = globalStep();
        double lr = schedule.lr(t);
        double beta1 = schedule.beta1(t);
        if (!Double.isFinite(lr) || !Double.isFinite(beta1)) {
          throw new IllegalStateException("schedule gave lr " + lr + ", beta1 " + beta1 + " at step " + t);
        }
        TrainingGraph.Batch tb = inputs.batch(batch, epoch, t);
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
        int correct = correct(r.logits(), batch.labels(), batch.n());
        epochLossSum += (double) r.loss() * batch.n();
        epochCorrect += correct;
        epochCount += batch.n();
        epochSeconds += secs;
        stepInEpoch++;
        ObjectNode line = TrainOptions.JSON.createObjectNode();
        line.put("kind", "step");
        line.put("step", t + 1);
        line.put("epoch", epoch + 1);
        line.put("loss", r.loss());
        line.put("lr", lr);
        line.put("grad_norm", r.gradNorm());
        line.put("batch_top1", (double) correct / batch.n());
        line.put("images_per_s", batch.n() / secs);
        metrics.append(line);
        listener.onStep(new TrainingListener.StepEvent(epoch + 1, options.epochs, stepInEpoch, stepsPerEpoch, t + 1,
            (long) stepsPerEpoch * options.epochs, r.loss(), lr, r.gradNorm(), batch.n() / secs, (t1 - t0) / 1e9));
        if (stopRequested && stepInEpoch < stepsPerEpoch) return false;
        // the epoch's last step is followed by the epoch checkpoint (after validation, whose lines
        // a step checkpoint taken before it would see twice on resume)
        if (options.checkpointEvery > 0 && (t + 1) % options.checkpointEvery == 0 && stepInEpoch < stepsPerEpoch) {
          writeStepCheckpoint(listener);
        }
      }
      return true;
    }
  }

  /** How many of the {@code n} rows of logits [n, K] have their largest value at the label (the lower index on ties). */
  private int correct(float[] logits, int[] labels, int n) {
    int correct = 0;
    int k = config.numClasses();
    for (int i = 0; i < n; i++) {
      int best = 0;
      for (int c = 1; c < k; c++) if (logits[i * k + c] > logits[i * k + best]) best = c;
      if (best == labels[i]) correct++;
    }
    return correct;
  }

  private TrainingDivergedException diverged(TrainingGraph.StepResult r, long step, double lr) {
    String what = !Float.isFinite(r.loss()) ? "the loss is " + r.loss() : "the gradient norm is " + r.gradNorm();
    return new TrainingDivergedException(String.format(Locale.ROOT,
        "%s at step %d (epoch %d, lr %.3g): training stopped; the last good checkpoint (step %d) in %s is intact"
            + " — try a lower --lr, or check the data", what, step, epoch + 1, lr, run.savedStep(), run.resumableCheckpoint()));
  }

  private void reportDecodeErrors(List<String> errors, TrainingListener listener) {
    for (String e : errors) {
      decodeErrors++;
      if (warnings < 10) listener.onWarning("skipped an image that cannot be decoded: " + e);
      else if (warnings == 10) listener.onWarning("more images cannot be decoded; the count is in metrics.jsonl (decode_errors)");
      warnings++;
    }
  }

  /** Evaluates {@code which} weights on the validation set (the graph's inference copy) and logs it. */
  private Evaluation evaluate(TrainingGraph.Weights which, int epochNo, TrainingListener listener) {
    String weights = which == TrainingGraph.Weights.EMA ? "ema" : "model";
    graph.prepareEval(which);
    Evaluator.Outcome outcome = evaluator.evaluate(data.val(), data.pipeline(), config.numClasses(), null, graph::evalLogits,
        (done, total) -> listener.onEvalProgress(weights, done, total));
    if (which == TrainingGraph.Weights.MODEL) reportDecodeErrors(outcome.errors(), listener);
    Evaluation ev = outcome.evaluation();
    ObjectNode line = TrainOptions.JSON.createObjectNode();
    line.put("kind", "eval");
    line.put("epoch", epochNo);
    line.put("step", globalStep());
    line.put("weights", weights);
    line.put("loss", ev.loss());
    line.put("top1", ev.top1());
    line.put("top5", ev.top5());
    line.put("images", ev.count());
    metrics.append(line);
    listener.onEvaluated(new TrainingListener.EvalEvent(epochNo, globalStep(), weights, ev.loss(), ev.top1(), ev.top5(), ev.count()));
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
    Path best = run.bestWeights();
    if (TrainOptions.EXPORT_EMA.equals(which)) {
      sd = graph.stateDict(TrainingGraph.Weights.EMA);
    } else if (TrainOptions.EXPORT_BEST.equals(which) && Files.isRegularFile(best)) {
      sd = Safetensors.read(best);
    } else {
      sd = graph.stateDict(TrainingGraph.Weights.MODEL);
    }
    ExportMetadata meta = ExportMetadata.defaults().withLabels(data.classes())
        .withPreprocessing(data.pipeline().preprocessing()).withSource(run.path().toString(), null);
    String name = settings.exportName() != null ? settings.exportName() : run.defaultExportName();
    SavedModelExporter.Result r = new SavedModelExporter(run.exportBase())
        .export(name, config, sd, meta, SavedModelExporter.Options.DEFAULT.withVersion(1).withForce(true));
    listener.onExport(r.versionDir());
    return r.versionDir();
  }

  private Result result(boolean finished, Evaluation model, Evaluation ema, String which, Path export) {
    return new Result(finished, globalStep(), epoch, model == null ? null : model.top1(), model == null ? null : model.top5(),
        ema == null ? null : ema.top1(), Double.isNaN(bestTop1) ? null : bestTop1, which, export,
        stepsTimed == 0 ? Double.NaN : stepSecondsSum / stepsTimed, run.path());
  }

  // ---------------------------------------------------------------- what the files record

  /** Replaces the epoch checkpoint: the graph's variables and the position and statistics (state.json). */
  private void writeCheckpoint(boolean finished, TrainingListener listener) {
    run.writeCheckpoint(state(finished), graph::save);
    if (listener != null) listener.onCheckpoint(run.checkpointDir(), globalStep());
  }

  /** Adds a step checkpoint (same content as the epoch checkpoint) and drops the oldest beyond keep_checkpoints. */
  private void writeStepCheckpoint(TrainingListener listener) {
    Path dir = run.writeStepCheckpoint(globalStep(), state(false), graph::save, options.keepCheckpoints);
    listener.onCheckpoint(dir, globalStep());
  }

  /** state.json: the position and the statistics of the epoch so far. */
  private ObjectNode state(boolean finished) {
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
    return s;
  }

  private void readState(JsonNode s, Path ckpt) {
    long step = s.path("step").asLong();
    epoch = s.path("epoch").asInt();
    stepInEpoch = s.path("step_in_epoch").asInt();
    if ((long) epoch * stepsPerEpoch + stepInEpoch != step || s.path("steps_per_epoch").asInt() != stepsPerEpoch) {
      throw new BadInputException(ckpt.resolve(RunDirectory.STATE_FILE) + ": inconsistent position (step " + step
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

  private ObjectNode summary(Result r) {
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
    return s;
  }

  private void drawCurves() {
    run.drawCurves(run.path().getFileName() + " — " + config.family() + " " + config.embedDims() + ", batch " + options.batch);
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
