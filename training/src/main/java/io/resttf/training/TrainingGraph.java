package io.resttf.training;

import io.resttf.model.ParamSpec;
import io.resttf.model.Params;
import io.resttf.model.ResourceEstimate;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.RestNetwork;
import io.resttf.model.WeightInit;
import io.resttf.model.WeightLoader;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * One graph and session holding everything a training run needs, so that a step is one
 * {@code session.run}:
 *
 * <ul>
 *   <li>the network in training mode ({@link RestNetwork.Training}): BatchNorm on batch statistics
 *       (running averages updated in the step), drop-path keep masks and a dropout seed fed per step;
 *   <li>the loss: mean softmax cross-entropy against soft targets (label smoothing, built by the
 *       caller) or hard labels;
 *   <li>gradients ({@link Graph#addGradients}; every op type checked first, see {@link GradientSupport}),
 *       clipped by global norm as {@code torch.nn.utils.clip_grad_norm_};
 *   <li>AdamW as {@code torch.optim.AdamW} computes it (decoupled weight decay {@code p·(1 − lr·wd)},
 *       bias corrections, ε outside the square root), in-graph, with the per-step scalars fed
 *       ({@link StepScalars}) so schedules, cycled β1 and resume live in Java;
 *   <li>an optional EMA of the weights (and BatchNorm running statistics), as timm's ModelEma;
 *   <li>an inference copy of the network (scope {@code eval/}) for evaluation on the model or EMA
 *       weights, copied in-graph before evaluating.
 * </ul>
 *
 * Each part has its builder ({@link ClassificationLoss}, {@link ClipByGlobalNorm}, {@link AdamW}, {@link Ema},
 * {@link InferenceCopy}, {@link CheckpointSaver}); this class wires them into one graph and runs it.
 *
 * <p>Model variables are named by their official keys (as in {@link RestModel}); optimizer slots
 * {@code optimizer/m/KEY}, {@code optimizer/v/KEY}; EMA {@code ema/KEY}. {@link #save} / {@link #restore}
 * write and read all of them (not the eval copy) as one TF checkpoint.
 */
public final class TrainingGraph implements AutoCloseable {
  /** Which weights to read or evaluate. */
  public enum Weights { MODEL, EMA }

  /**
   * What to build.
   *
   * @param config            the model
   * @param batchNormTraining BatchNorm on batch statistics (training); false = running statistics
   * @param dropPathRate      stochastic depth rate (linear over blocks); 0 = none (no mask input)
   * @param dropRate          dropout after MLP activation / fc2 / attention projection
   * @param attnDropRate      dropout on attention maps
   * @param softTargets       loss against soft targets [B, K] (label smoothing); false = int labels [B]
   * @param frozen            which official keys are not trained (no gradient, no slots; their
   *                          BatchNorm layers stay on running statistics): a test on the key, so that it
   *                          is known while the network is built, before any key list exists
   * @param weightDecay       AdamW decoupled weight decay
   * @param decayAll          decay every parameter (torch's default); false = not biases and norms
   *                          (parameters of rank ≤ 1 in the official layout)
   * @param beta2             Adam β2 (β1 is fed per step)
   * @param eps               Adam ε
   * @param clipNorm          gradient clipping by global norm; ≤ 0 = none
   * @param ema               keep an EMA of the weights
   * @param emaDecay          its decay
   * @param layerDecay        layer-wise learning-rate decay (1 = none)
   */
  public record Spec(RestConfig config, boolean batchNormTraining, double dropPathRate, double dropRate,
      double attnDropRate, boolean softTargets, Predicate<String> frozen, double weightDecay, boolean decayAll,
      double beta2, double eps, double clipNorm, boolean ema, double emaDecay, double layerDecay) {
    private static final Predicate<String> NOTHING_FROZEN = key -> false;

    /** Plain training defaults: BN training, no regularisation, soft targets, AdamW (0.9, 0.999, 1e-8). */
    public static Spec of(RestConfig config) {
      return new Spec(config, true, 0, 0, 0, true, NOTHING_FROZEN, 0.05, false, 0.999, 1e-8, 1.0, false, 0.9999, 1.0);
    }

    public Spec withBatchNormTraining(boolean b) {
      return new Spec(config, b, dropPathRate, dropRate, attnDropRate, softTargets, frozen, weightDecay, decayAll,
          beta2, eps, clipNorm, ema, emaDecay, layerDecay);
    }

    public Spec withSoftTargets(boolean b) {
      return new Spec(config, batchNormTraining, dropPathRate, dropRate, attnDropRate, b, frozen, weightDecay,
          decayAll, beta2, eps, clipNorm, ema, emaDecay, layerDecay);
    }

    public Spec withDropPath(double rate) {
      return new Spec(config, batchNormTraining, rate, dropRate, attnDropRate, softTargets, frozen, weightDecay,
          decayAll, beta2, eps, clipNorm, ema, emaDecay, layerDecay);
    }

    public Spec withDropout(double rate, double attnRate) {
      return new Spec(config, batchNormTraining, dropPathRate, rate, attnRate, softTargets, frozen, weightDecay,
          decayAll, beta2, eps, clipNorm, ema, emaDecay, layerDecay);
    }

    /** These official keys are not trained. */
    public Spec withFrozen(Set<String> keys) {
      Set<String> copy = Set.copyOf(keys);
      return withFrozen(copy::contains);
    }

    /** The parts {@code --freeze} names ({@link FreezeGroups}) are not trained. */
    public Spec withFrozenGroups(List<String> groups) {
      groups.forEach(FreezeGroups::check);
      List<String> copy = List.copyOf(groups);
      return withFrozen(key -> copy.stream().anyMatch(g -> FreezeGroups.contains(g, key)));
    }

    private Spec withFrozen(Predicate<String> test) {
      return new Spec(config, batchNormTraining, dropPathRate, dropRate, attnDropRate, softTargets, test,
          weightDecay, decayAll, beta2, eps, clipNorm, ema, emaDecay, layerDecay);
    }

    public Spec withOptimizer(double wd, boolean all, double b2, double epsilon, double clip) {
      return new Spec(config, batchNormTraining, dropPathRate, dropRate, attnDropRate, softTargets, frozen, wd, all,
          b2, epsilon, clip, ema, emaDecay, layerDecay);
    }

    /**
     * Layer-wise learning-rate decay (the official {@code --layer_decay}, after BEiT): each parameter's lr is
     * scaled by {@code d^(L − layer)} ({@link LayerDecay}); 1 = off.
     */
    public Spec withLayerDecay(double d) {
      return new Spec(config, batchNormTraining, dropPathRate, dropRate, attnDropRate, softTargets, frozen,
          weightDecay, decayAll, beta2, eps, clipNorm, ema, emaDecay, d);
    }

    public Spec withEma(boolean on, double decay) {
      return new Spec(config, batchNormTraining, dropPathRate, dropRate, attnDropRate, softTargets, frozen,
          weightDecay, decayAll, beta2, eps, clipNorm, on, decay, layerDecay);
    }
  }

  /**
   * The per-step scalars of the optimizer, computed in double in Java and fed as float32, as PyTorch
   * computes them on the host: β1, the bias-corrected rate lr · √(1 − β2^t) / (1 − β1^t) that TF's fused
   * Adam kernel takes once its ε is scaled by √(1 − β2^t) (both corrections stay in double), √(1 − β2^t),
   * the decay factor 1 − lr · wd, and lr · wd (for parameters whose lr layer decay scales).
   */
  public record StepScalars(double lr, double beta1, double beta2, long t, double weightDecay) {
    static final int SIZE = 5;

    float[] toFeed() {
      double bc1 = 1 - Math.pow(beta1, t);
      double bc2 = 1 - Math.pow(beta2, t);
      return new float[] {(float) beta1, (float) (lr * Math.sqrt(bc2) / bc1), (float) Math.sqrt(bc2),
          (float) (1 - lr * weightDecay), (float) (lr * weightDecay)};
    }
  }

  /** One batch: NHWC pixels, integer labels, soft targets (when the graph takes them) and randomness. */
  public record Batch(long[] shape, float[] pixels, int[] labels, float[] targets, float[] dropPathMasks,
      long[] dropoutSeed) {
    public int size() {
      return (int) shape[0];
    }
  }

  /** What one training step returned: the loss (mean over the batch), the global gradient norm before clipping, the logits. */
  public record StepResult(float loss, float gradNorm, float[] logits) {}

  private final Spec spec;
  private final RestConfig config;
  private final Graph graph;
  private final Session session;
  private final RestNetwork network;
  private final Placeholder<TFloat32> input;
  private final Placeholder<TFloat32> dropPathMasks;
  private final Placeholder<TInt64> dropoutSeed;
  private final Placeholder<TFloat32> scalars;
  private final ClassificationLoss loss;
  private final GradientSupport.Report gradientReport;
  /** Raw gradients of the trainable variables, by official key, in official order. */
  private final Map<String, Operand<TFloat32>> gradients;
  private final ClipByGlobalNorm clip;
  private final Ema ema;
  private final Op trainOp;
  private final Op initSlots;
  private final WeightLoader loader;
  private final InferenceCopy inference;
  private final CheckpointSaver saver;

  private TrainingGraph(Spec spec, ConfigProto sessionConfig) {
    this.spec = spec;
    this.config = spec.config().validate();
    // refuse a model whose weights cannot fit before a graph of its size is built
    ResourceEstimate.requireWeights("model", config);
    this.graph = new Graph();
    try {
      Ops tf = Ops.create(graph);
      Ops in = tf.withSubScope("train");
      input = in.withName("pixel_values").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, config.inChans())));
      dropPathMasks = spec.dropPathRate() > 0 ? in.withName("drop_path_masks").placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(RestNetwork.numDropPathMasks(config), -1))) : null;
      dropoutSeed = spec.dropRate() > 0 || spec.attnDropRate() > 0
          ? in.withName("dropout_seed").placeholder(TInt64.class, Placeholder.shape(Shape.of(2))) : null;
      network = RestNetwork.build(tf, config, input, trainingMode());
      if (network.logits() == null) throw new BadInputException("training needs a classification head (num_classes > 0)");
      loss = ClassificationLoss.create(tf.withSubScope("loss"), in, network.logits(), config.numClasses(), spec.softTargets());

      Map<String, Params.Param> params = network.params().all();
      List<Params.Param> trainable = params.values().stream().filter(p -> p.trainable() && !spec.frozen().test(p.key())).toList();
      if (trainable.isEmpty()) throw new BadInputException("nothing to train: every parameter is frozen");
      gradientReport = GradientSupport.ensureGradients(loss.loss(), trainable.stream().<Operand<?>>map(Params.Param::variable).toList());
      gradients = gradients(trainable);

      Ops opt = tf.withSubScope("optimizer");
      clip = ClipByGlobalNorm.create(opt, gradients.values(), spec.clipNorm());
      scalars = in.withName("optimizer_scalars").placeholder(TFloat32.class, Placeholder.shape(Shape.of(StepScalars.SIZE)));
      AdamW adamW = AdamW.create(opt, scalars, spec.beta2(), spec.eps(), clip.globalNorm().op()); // the norm needs every gradient
      Map<String, Operand<TFloat32>> newValues = new LinkedHashMap<>();
      for (Params.Param p : trainable) {
        double lrScale = LayerDecay.scale(p.key(), config.depths(), spec.layerDecay());
        newValues.put(p.key(), adamW.apply(p.key(), p.variable(), p.tfShape(), clip.clip(gradients.get(p.key())), decays(p), lrScale));
      }
      List<Op> updates = new ArrayList<>(adamW.updates());
      network.bufferUpdates().forEach((key, value) -> { // BatchNorm running statistics
        updates.add(opt.assign(params.get(key).variable(), value));
        newValues.put(key, value);
      });
      Map<String, Variable<TFloat32>> variables = new LinkedHashMap<>();
      params.forEach((key, p) -> variables.put(key, p.variable()));
      ema = spec.ema() ? Ema.create(tf.withSubScope("ema"), spec.emaDecay(), variables, newValues) : Ema.none();
      updates.addAll(ema.updates());
      trainOp = tf.withControlDependencies(updates).withName("train_step").noOp();
      List<Op> inits = new ArrayList<>(adamW.slotInits());
      inits.addAll(ema.inits());
      initSlots = tf.withControlDependencies(inits).withName("init_slots").noOp();

      loader = WeightLoader.create(tf, network.params(), config);
      inference = InferenceCopy.create(tf, tf.withSubScope("eval"), config, params, ema.variables());
      // the checkpoint: model variables first, then slots, then EMA
      Map<String, Variable<TFloat32>> saved = new LinkedHashMap<>(variables);
      saved.putAll(adamW.slots());
      ema.variables().forEach((k, v) -> saved.put("ema/" + k, v));
      saver = CheckpointSaver.create(tf, tf.withSubScope("checkpoint"), saved);

      this.session = sessionConfig == null ? new Session(graph) : new Session(graph, sessionConfig);
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  /** Builds the graph and opens its session (null = TF's default session options). Weights are unset until {@link #load}. */
  public static TrainingGraph build(Spec spec, ConfigProto sessionConfig) {
    return new TrainingGraph(spec, sessionConfig);
  }

  /** BatchNorm on batch statistics (not for frozen layers), drop path and dropout as the spec says. */
  private RestNetwork.Training trainingMode() {
    RestNetwork.Training training = spec.batchNormTraining()
        ? RestNetwork.Training.standard().withBatchStatistics(bn -> !spec.frozen().test(bn + ".weight"))
        : RestNetwork.Training.evalMode();
    if (dropPathMasks != null) training = training.withDropPath(dropPathMasks);
    if (dropoutSeed != null) training = training.withDropout(spec.dropRate(), spec.attnDropRate(), dropoutSeed);
    return training;
  }

  /** d loss / d variable for every trainable variable ({@link Graph#addGradients}). */
  private Map<String, Operand<TFloat32>> gradients(List<Params.Param> trainable) {
    Output<?>[] xs = trainable.stream().map(p -> p.variable().asOutput()).toArray(Output<?>[]::new);
    Output<?>[] dys = graph.addGradients("gradients", new Output<?>[] {loss.loss().asOutput()}, xs, null);
    Map<String, Operand<TFloat32>> out = new LinkedHashMap<>();
    for (int i = 0; i < xs.length; i++) {
      @SuppressWarnings("unchecked")
      Operand<TFloat32> g = (Operand<TFloat32>) dys[i];
      if (g == null) throw new IllegalStateException("no gradient reaches " + trainable.get(i).key());
      out.put(trainable.get(i).key(), g);
    }
    return out;
  }

  private boolean decays(Params.Param p) {
    if (spec.weightDecay() == 0) return false;
    return spec.decayAll() || p.officialShape().length > 1;
  }

  /** The official keys the spec freezes among this network's variables, in official order. */
  public List<String> frozenKeys() {
    return network.params().all().keySet().stream().filter(spec.frozen()).toList();
  }

  /** The declaration (kind, official and TF shapes) of the variable of an official key. */
  public ParamSpec paramSpec(String key) {
    return network.params().all().get(key).spec();
  }

  /** Number of elements of the variable of an official key. */
  public long parameterSize(String key) {
    return network.params().all().get(key).size();
  }

  // ---- accessors ----

  public Spec spec() {
    return spec;
  }

  public RestConfig config() {
    return config;
  }

  public Graph graph() {
    return graph;
  }

  /** The official keys that get gradients and optimizer updates, in official order. */
  public List<String> trainableKeys() {
    return List.copyOf(gradients.keySet());
  }

  /** Whether AdamW decays this key (official key). */
  public boolean decays(String key) {
    Params.Param p = network.params().all().get(key);
    return p != null && gradients.containsKey(key) && decays(p);
  }

  /** Every op type between the trainable variables and the loss, and which gradients came from Java. */
  public GradientSupport.Report gradientReport() {
    return gradientReport;
  }

  /** Names of the tensors in a checkpoint of this graph, in order. */
  public Set<String> checkpointNames() {
    return saver.names();
  }

  // ---- weights ----

  /**
   * Sets the model weights from an official state_dict (as {@link RestModel#load(Map,
   * RestModel.LoadOptions, long)}: strict unless {@code options} says what may be missing or dropped;
   * missing ones get the official code's initialisation ({@link WeightInit}) from {@code seed}), then
   * zeroes the optimizer slots and starts the EMA at these weights.
   */
  public RestModel.LoadReport load(Map<String, HostTensor> stateDict, RestModel.LoadOptions options, long seed) {
    RestModel.LoadReport report = loader.load(session, stateDict, options, seed);
    session.runner().addTarget(initSlots).run();
    return report;
  }

  /** Fresh weights (the official code's initialisation, {@link WeightInit}, seeded), zero slots, EMA at them. */
  public void initFresh(long seed) {
    load(Map.of(), RestModel.LoadOptions.allowMissing(Pattern.compile(".*")), seed);
  }

  /** The model (or EMA) weights as an official state_dict (official layouts), e.g. for export. */
  public Map<String, HostTensor> stateDict(Weights which) {
    if (which == Weights.EMA && !spec.ema()) throw new IllegalStateException("this graph keeps no EMA");
    return which == Weights.EMA
        ? loader.stateDict(session, p -> ema.variables().getOrDefault(p.key(), p.variable()))
        : loader.stateDict(session);
  }

  /** Every checkpointed variable (model, slots, EMA) in TF layout, by checkpoint name, to compare runs. */
  public Map<String, float[]> allVariables() {
    Map<String, float[]> out = new LinkedHashMap<>();
    Map<String, Variable<TFloat32>> saved = saver.variables();
    List<String> names = new ArrayList<>(saved.keySet());
    Session.Runner r = session.runner();
    names.forEach(n -> r.fetch(saved.get(n)));
    try (Result res = r.run()) {
      for (int i = 0; i < names.size(); i++) out.put(names.get(i), TfTensors.toHost((TFloat32) res.get(i)).toFloats());
    }
    return out;
  }

  // ---- running ----

  /** One optimisation step on {@code batch}: forward, loss, gradients, clipping, AdamW, BN and EMA updates. */
  public StepResult step(Batch batch, StepScalars s) {
    return step(batch, s, r -> {
      try (Result res = r.run()) {
        float l = ((TFloat32) res.get(0)).getFloat();
        float gn = ((TFloat32) res.get(1)).getFloat();
        return new StepResult(l, gn, TfTensors.toHost((TFloat32) res.get(2)).toFloats());
      }
    });
  }

  /**
   * One optimisation step whose runner (fed, targeting the update, fetching loss, global norm and logits)
   * {@code run} runs, e.g. with trace options to profile it; the feeds are closed after.
   */
  public <T> T step(Batch batch, StepScalars s, Function<Session.Runner, T> run) {
    List<Tensor> feeds = new ArrayList<>();
    try {
      Session.Runner r = feedBatch(session.runner(), batch, feeds);
      TFloat32 sc = TFloat32.vectorOf(s.toFeed());
      feeds.add(sc);
      r.feed(scalars, sc).addTarget(trainOp).fetch(loss.loss()).fetch(clip.globalNorm()).fetch(network.logits());
      return run.apply(r);
    } finally {
      feeds.forEach(Tensor::close);
    }
  }

  /** The loss and the raw (unclipped) gradients of the batch, by official key, in TF layout; nothing is updated. */
  public Map<String, HostTensor> gradients(Batch batch, float[] lossOut) {
    List<Tensor> feeds = new ArrayList<>();
    try {
      Session.Runner r = feedBatch(session.runner(), batch, feeds);
      r.fetch(loss.loss());
      List<String> keys = new ArrayList<>(gradients.keySet());
      keys.forEach(k -> r.fetch(gradients.get(k)));
      try (Result res = r.run()) {
        if (lossOut != null) lossOut[0] = ((TFloat32) res.get(0)).getFloat();
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (int i = 0; i < keys.size(); i++) out.put(keys.get(i), TfTensors.toHost((TFloat32) res.get(i + 1)));
        return out;
      }
    } finally {
      feeds.forEach(Tensor::close);
    }
  }

  private Session.Runner feedBatch(Session.Runner r, Batch b, List<Tensor> feeds) {
    TFloat32 x = TFloat32.tensorOf(Shape.of(b.shape()), DataBuffers.of(b.pixels(), true, false));
    feeds.add(x);
    r.feed(input, x);
    int n = b.size();
    if (loss.targets() != null) {
      if (b.targets() == null) throw new IllegalArgumentException("this graph takes soft targets");
      TFloat32 t = TFloat32.tensorOf(Shape.of(n, config.numClasses()), DataBuffers.of(b.targets(), true, false));
      feeds.add(t);
      r.feed(loss.targets(), t);
    } else {
      TInt32 l = TInt32.tensorOf(Shape.of(n), DataBuffers.of(b.labels(), true, false));
      feeds.add(l);
      r.feed(loss.labels(), l);
    }
    if (dropPathMasks != null) {
      TFloat32 m = TFloat32.tensorOf(Shape.of(RestNetwork.numDropPathMasks(config), n),
          DataBuffers.of(b.dropPathMasks(), true, false));
      feeds.add(m);
      r.feed(dropPathMasks, m);
    }
    if (dropoutSeed != null) {
      TInt64 s = TInt64.vectorOf(b.dropoutSeed());
      feeds.add(s);
      r.feed(dropoutSeed, s);
    }
    return r;
  }

  /** Copies the model (or EMA) weights into the evaluation network; call before {@link #evalLogits}. */
  public void prepareEval(Weights which) {
    if (which == Weights.EMA && !spec.ema()) throw new IllegalStateException("this graph keeps no EMA");
    session.runner().addTarget(which == Weights.EMA ? inference.fromEma() : inference.fromModel()).run();
  }

  /** Logits [B, K] of the evaluation network (inference mode) on an NHWC batch. */
  public float[] evalLogits(long[] shape, float[] pixels) {
    try (TFloat32 x = TFloat32.tensorOf(Shape.of(shape), DataBuffers.of(pixels, true, false));
        Result res = session.runner().feed(inference.input(), x).fetch(inference.network().logits()).run()) {
      return TfTensors.toHost((TFloat32) res.get(0)).toFloats();
    }
  }

  // ---- checkpoints ----

  /** Writes every model, optimizer and EMA variable as a TF V2 checkpoint at {@code prefix}. */
  public void save(Path prefix) {
    saver.save(session, prefix);
  }

  /** Restores what {@link #save} wrote, for this same graph (config, frozen keys, EMA). */
  public void restore(Path prefix) {
    saver.restore(session, prefix);
  }

  @Override
  public void close() {
    session.close();
    graph.close();
  }
}
