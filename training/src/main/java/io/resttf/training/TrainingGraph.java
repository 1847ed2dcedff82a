package io.resttf.training;

import io.resttf.model.ParamSpec;
import io.resttf.model.Params;
import io.resttf.model.RestConfig;
import io.resttf.model.RestModel;
import io.resttf.model.RestNetwork;
import io.resttf.model.WeightInit;
import io.resttf.model.WeightLoader;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.TfTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.exceptions.TensorFlowException;
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
import org.tensorflow.types.TString;
import org.tensorflow.types.family.TType;

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
 * Model variables are named by their official keys (as in {@link RestModel}); optimizer slots
 * {@code optimizer/m/KEY}, {@code optimizer/v/KEY}; EMA {@code ema/KEY}. {@link #save} / {@link #restore}
 * write and read all of them (not the eval copy) as one TF checkpoint.
 */
public final class TrainingGraph implements AutoCloseable {
  /** Which weights to read or evaluate. */
  public enum Weights { MODEL, EMA }

  /** torch.nn.utils.clip_grad_norm_ adds this to the norm before dividing. */
  static final double CLIP_EPS = 1e-6;

  /**
   * What to build.
   *
   * @param config            the model
   * @param batchNormTraining BatchNorm on batch statistics (training); false = running statistics
   * @param dropPathRate      stochastic depth rate (linear over blocks); 0 = none (no mask input)
   * @param dropRate          dropout after MLP activation / fc2 / attention projection
   * @param attnDropRate      dropout on attention maps
   * @param softTargets       loss against soft targets [B, K] (label smoothing); false = int labels [B]
   * @param frozen            official keys that are not trained (no gradient, no slots; their
   *                          BatchNorm layers stay on running statistics)
   * @param weightDecay       AdamW decoupled weight decay
   * @param decayAll          decay every parameter (torch's default); false = not biases and norms
   *                          (parameters of rank ≤ 1 in the official layout)
   * @param beta2             Adam β2 (β1 is fed per step)
   * @param eps               Adam ε
   * @param clipNorm          gradient clipping by global norm; ≤ 0 = none
   * @param ema               keep an EMA of the weights
   * @param emaDecay          its decay
   */
  public record Spec(RestConfig config, boolean batchNormTraining, double dropPathRate, double dropRate,
      double attnDropRate, boolean softTargets, Set<String> frozen, double weightDecay, boolean decayAll,
      double beta2, double eps, double clipNorm, boolean ema, double emaDecay) {
    public Spec {
      frozen = Set.copyOf(frozen);
    }

    /** Plain training defaults: BN training, no regularisation, soft targets, AdamW (0.9, 0.999, 1e-8). */
    public static Spec of(RestConfig config) {
      return new Spec(config, true, 0, 0, 0, true, Set.of(), 0.05, false, 0.999, 1e-8, 1.0, false, 0.9999);
    }

    public Spec withBatchNormTraining(boolean b) {
      return new Spec(config, b, dropPathRate, dropRate, attnDropRate, softTargets, frozen, weightDecay, decayAll,
          beta2, eps, clipNorm, ema, emaDecay);
    }

    public Spec withSoftTargets(boolean b) {
      return new Spec(config, batchNormTraining, dropPathRate, dropRate, attnDropRate, b, frozen, weightDecay,
          decayAll, beta2, eps, clipNorm, ema, emaDecay);
    }

    public Spec withDropPath(double rate) {
      return new Spec(config, batchNormTraining, rate, dropRate, attnDropRate, softTargets, frozen, weightDecay,
          decayAll, beta2, eps, clipNorm, ema, emaDecay);
    }

    public Spec withDropout(double rate, double attnRate) {
      return new Spec(config, batchNormTraining, dropPathRate, rate, attnRate, softTargets, frozen, weightDecay,
          decayAll, beta2, eps, clipNorm, ema, emaDecay);
    }

    public Spec withFrozen(Set<String> keys) {
      return new Spec(config, batchNormTraining, dropPathRate, dropRate, attnDropRate, softTargets, keys,
          weightDecay, decayAll, beta2, eps, clipNorm, ema, emaDecay);
    }

    public Spec withOptimizer(double wd, boolean all, double b2, double epsilon, double clip) {
      return new Spec(config, batchNormTraining, dropPathRate, dropRate, attnDropRate, softTargets, frozen, wd, all,
          b2, epsilon, clip, ema, emaDecay);
    }

    public Spec withEma(boolean on, double decay) {
      return new Spec(config, batchNormTraining, dropPathRate, dropRate, attnDropRate, softTargets, frozen,
          weightDecay, decayAll, beta2, eps, clipNorm, on, decay);
    }
  }

  /**
   * The per-step scalars of the optimizer, computed in double in Java and fed as float32, as PyTorch
   * computes them on the host: β1, 1 − β1, step size lr / (1 − β1^t), √(1 − β2^t), and the decay
   * factor 1 − lr · wd.
   */
  public record StepScalars(double lr, double beta1, double beta2, long t, double weightDecay) {
    float[] toFeed() {
      double bc1 = 1 - Math.pow(beta1, t);
      double bc2 = 1 - Math.pow(beta2, t);
      return new float[] {(float) beta1, (float) (1 - beta1), (float) (lr / bc1), (float) Math.sqrt(bc2),
          (float) (1 - lr * weightDecay)};
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
  private final RestNetwork evalNetwork;
  private final Placeholder<TFloat32> input;
  private final Placeholder<TFloat32> evalInput;
  private final Placeholder<TFloat32> targets;
  private final Placeholder<TInt32> labels;
  private final Placeholder<TFloat32> dropPathMasks;
  private final Placeholder<TInt64> dropoutSeed;
  private final Placeholder<TFloat32> scalars;
  private final Operand<TFloat32> loss;
  private final Operand<TFloat32> gradNorm;
  private final Map<String, Operand<TFloat32>> gradients = new LinkedHashMap<>();
  private final Op trainOp;
  private final Op copyModelToEval;
  private final Op copyEmaToEval;
  private final Op initSlots;
  private final WeightLoader loader;
  private final Map<String, Variable<TFloat32>> emaVars = new LinkedHashMap<>();
  /** Everything a checkpoint holds: name in the checkpoint → variable. */
  private final Map<String, Variable<TFloat32>> saved = new LinkedHashMap<>();
  private final Placeholder<TString> savePrefix;
  private final Op saveOp;
  private final Op restoreOp;
  private final GradientSupport.Report gradientReport;
  private final List<String> trainableKeys = new ArrayList<>();

  private TrainingGraph(Spec spec, ConfigProto sessionConfig) {
    this.spec = spec;
    this.config = spec.config().validate();
    this.graph = new Graph();
    try {
      Ops tf = Ops.create(graph);
      Ops in = tf.withSubScope("train");
      int c = config.inChans();
      input = in.withName("pixel_values").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, c)));
      RestNetwork.Training training = spec.batchNormTraining()
          ? RestNetwork.Training.standard().withBatchStatistics(bn -> !spec.frozen().contains(bn + ".weight"))
          : RestNetwork.Training.evalMode();
      if (spec.dropPathRate() > 0) {
        dropPathMasks = in.withName("drop_path_masks").placeholder(TFloat32.class,
            Placeholder.shape(Shape.of(RestNetwork.numDropPathMasks(config), -1)));
        training = training.withDropPath(dropPathMasks);
      } else {
        dropPathMasks = null;
      }
      if (spec.dropRate() > 0 || spec.attnDropRate() > 0) {
        dropoutSeed = in.withName("dropout_seed").placeholder(TInt64.class, Placeholder.shape(Shape.of(2)));
        training = training.withDropout(spec.dropRate(), spec.attnDropRate(), dropoutSeed);
      } else {
        dropoutSeed = null;
      }
      network = RestNetwork.build(tf, config, input, training);
      if (network.logits() == null) throw new BadInputException("training needs a classification head (num_classes > 0)");
      Ops lossOps = tf.withSubScope("loss");
      Operand<TFloat32> perSample;
      if (spec.softTargets()) {
        targets = in.withName("targets").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, config.numClasses())));
        labels = null;
        perSample = lossOps.nn.softmaxCrossEntropyWithLogits(network.logits(), targets).loss();
      } else {
        labels = in.withName("labels").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1)));
        targets = null;
        perSample = lossOps.nn.sparseSoftmaxCrossEntropyWithLogits(network.logits(), labels).loss();
      }
      loss = lossOps.withName("loss").math.mean(perSample, lossOps.constant(0));

      // ---- gradients ----
      Map<String, Params.Param> params = network.params().all();
      List<Params.Param> trainable = new ArrayList<>();
      for (Params.Param p : params.values()) {
        if (p.trainable() && !spec.frozen().contains(p.key())) {
          trainable.add(p);
          trainableKeys.add(p.key());
        }
      }
      if (trainable.isEmpty()) throw new BadInputException("nothing to train: every parameter is frozen");
      List<Operand<?>> sources = new ArrayList<>();
      trainable.forEach(p -> sources.add(p.variable()));
      gradientReport = GradientSupport.ensureGradients(loss, sources);
      Output<?>[] xs = trainable.stream().map(p -> p.variable().asOutput()).toArray(Output<?>[]::new);
      Output<?>[] dys = graph.addGradients("gradients", new Output<?>[] {loss.asOutput()}, xs, null);
      long T2 = System.nanoTime();
      for (int i = 0; i < xs.length; i++) {
        @SuppressWarnings("unchecked")
        Operand<TFloat32> g = (Operand<TFloat32>) dys[i];
        if (g == null) throw new IllegalStateException("no gradient reaches " + trainable.get(i).key());
        gradients.put(trainable.get(i).key(), g);
      }

      // ---- global norm and clipping (torch.nn.utils.clip_grad_norm_) ----
      Ops opt = tf.withSubScope("optimizer");
      List<Operand<TFloat32>> squares = new ArrayList<>();
      for (Operand<TFloat32> g : gradients.values()) squares.add(opt.sum(opt.math.square(g), allAxes(opt, g)));
      gradNorm = opt.withName("grad_norm").math.sqrt(opt.math.addN(squares));
      Operand<TFloat32> coef = spec.clipNorm() > 0
          ? opt.math.minimum(opt.constant(1f),
              opt.math.div(opt.constant((float) spec.clipNorm()), opt.math.add(gradNorm, opt.constant((float) CLIP_EPS))))
          : opt.constant(1f);

      // ---- AdamW ----
      scalars = in.withName("optimizer_scalars").placeholder(TFloat32.class, Placeholder.shape(Shape.of(5)));
      List<Output<TFloat32>> s = opt.unstack(scalars, 5L).output();
      Operand<TFloat32> beta1 = s.get(0), oneMinusBeta1 = s.get(1), stepSize = s.get(2), bc2Sqrt = s.get(3),
          decayFactor = s.get(4);
      Operand<TFloat32> beta2 = opt.constant((float) spec.beta2());
      Operand<TFloat32> oneMinusBeta2 = opt.constant((float) (1 - spec.beta2()));
      Operand<TFloat32> eps = opt.constant((float) spec.eps());
      List<Op> updates = new ArrayList<>();
      Map<String, Operand<TFloat32>> newValues = new LinkedHashMap<>();
      Ops mScope = opt.withSubScope("m");
      Ops vScope = opt.withSubScope("v");
      List<Op> slotInits = new ArrayList<>();
      Operand<TFloat32> zero = opt.constant(0f);
      for (Params.Param p : trainable) {
        String key = p.key();
        Shape shape = Shape.of(p.tfShape());
        Variable<TFloat32> m = mScope.withName(key).variable(shape, TFloat32.class);
        Variable<TFloat32> v = vScope.withName(key).variable(shape, TFloat32.class);
        saved.put("optimizer/m/" + key, m);
        saved.put("optimizer/v/" + key, v);
        // fill, not zeros(): Ops.zeros opens a sub-scope, which scans the whole graph every time
        Operand<TFloat32> zeros = opt.fill(opt.constant(p.tfShape()), zero);
        slotInits.add(opt.assign(m, zeros));
        slotInits.add(opt.assign(v, zeros));

        Operand<TFloat32> g = opt.math.mul(gradients.get(key), coef);
        Operand<TFloat32> mNew = opt.math.add(opt.math.mul(m, beta1), opt.math.mul(g, oneMinusBeta1));
        Operand<TFloat32> vNew = opt.math.add(opt.math.mul(v, beta2), opt.math.mul(opt.math.mul(g, g), oneMinusBeta2));
        Operand<TFloat32> denom = opt.math.add(opt.math.div(opt.math.sqrt(vNew), bc2Sqrt), eps);
        Operand<TFloat32> decayed = decays(p) ? opt.math.mul(p.variable(), decayFactor) : p.variable();
        Operand<TFloat32> pNew = opt.math.sub(decayed, opt.math.mul(stepSize, opt.math.div(mNew, denom)));
        updates.add(opt.assign(m, mNew));
        updates.add(opt.assign(v, vNew));
        updates.add(opt.assign(p.variable(), pNew));
        newValues.put(key, pNew);
      }
      // BatchNorm running statistics
      for (Map.Entry<String, Operand<TFloat32>> e : network.bufferUpdates().entrySet()) {
        updates.add(opt.assign(params.get(e.getKey()).variable(), e.getValue()));
        newValues.put(e.getKey(), e.getValue());
      }

      // ---- EMA (timm ModelEma: ema = ema · decay + (1 − decay) · model, after the step) ----
      Ops emaOps = tf.withSubScope("ema");
      List<Op> emaInits = new ArrayList<>();
      if (spec.ema()) {
        Operand<TFloat32> d = emaOps.constant((float) spec.emaDecay());
        Operand<TFloat32> oneMinusD = emaOps.constant((float) (1 - spec.emaDecay()));
        for (Map.Entry<String, Operand<TFloat32>> e : newValues.entrySet()) {
          Params.Param p = params.get(e.getKey());
          Variable<TFloat32> ema = emaOps.withName(e.getKey()).variable(Shape.of(p.tfShape()), TFloat32.class);
          emaVars.put(e.getKey(), ema);
          emaInits.add(emaOps.assign(ema, p.variable()));
          updates.add(emaOps.assign(ema, emaOps.math.add(emaOps.math.mul(ema, d), emaOps.math.mul(e.getValue(), oneMinusD))));
        }
      }
      trainOp = tf.withControlDependencies(updates).withName("train_step").noOp();

      // ---- model variables in the checkpoint, first ----
      Map<String, Variable<TFloat32>> ordered = new LinkedHashMap<>();
      for (Params.Param p : params.values()) ordered.put(p.key(), p.variable());
      ordered.putAll(saved);
      emaVars.forEach((k, v) -> ordered.put("ema/" + k, v));
      saved.clear();
      saved.putAll(ordered);

      // ---- initialising slots and EMA after a load ----
      List<Op> inits = new ArrayList<>(slotInits);
      inits.addAll(emaInits);
      initSlots = tf.withControlDependencies(inits).withName("init_slots").noOp();

      // ---- weight loading ----
      loader = WeightLoader.create(tf, network.params(), config);

      // ---- the evaluation network and its weight copies ----
      Ops ev = tf.withSubScope("eval");
      evalInput = ev.withName("pixel_values").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, c)));
      evalNetwork = RestNetwork.build(ev, config, evalInput);
      List<Op> fromModel = new ArrayList<>(), fromEma = new ArrayList<>();
      for (Params.Param e : evalNetwork.params().all().values()) {
        Variable<TFloat32> model = params.get(e.key()).variable();
        fromModel.add(ev.assign(e.variable(), model));
        fromEma.add(ev.assign(e.variable(), emaVars.getOrDefault(e.key(), model)));
      }
      copyModelToEval = tf.withControlDependencies(fromModel).withName("eval_from_model").noOp();
      copyEmaToEval = tf.withControlDependencies(fromEma).withName("eval_from_ema").noOp();

      // ---- checkpoint save / restore (V2 format) ----
      Ops ck = tf.withSubScope("checkpoint");
      savePrefix = ck.withName("prefix").placeholder(TString.class, Placeholder.shape(Shape.scalar()));
      String[] names = saved.keySet().toArray(new String[0]);
      String[] slices = new String[names.length];
      Arrays.fill(slices, "");
      Operand<TString> nameConst = ck.constant(java.nio.charset.StandardCharsets.UTF_8, names);
      Operand<TString> sliceConst = ck.constant(java.nio.charset.StandardCharsets.UTF_8, slices);
      List<Operand<?>> tensors = new ArrayList<>(saved.values());
      saveOp = ck.train.save(savePrefix, nameConst, sliceConst, tensors);
      List<Class<? extends TType>> dtypes = Collections.nCopies(names.length, TFloat32.class);
      var restored = ck.train.restore(savePrefix, nameConst, sliceConst, dtypes);
      List<Op> assigns = new ArrayList<>();
      int i = 0;
      for (Variable<TFloat32> v : saved.values()) {
        @SuppressWarnings("unchecked")
        Operand<TFloat32> t = (Operand<TFloat32>) restored.tensors().get(i++);
        assigns.add(ck.assign(v, t));
      }
      restoreOp = tf.withControlDependencies(assigns).withName("restore_all").noOp();

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

  private boolean decays(Params.Param p) {
    if (spec.weightDecay() == 0) return false;
    return spec.decayAll() || p.officialShape().length > 1;
  }

  private static Operand<TInt32> allAxes(Ops tf, Operand<TFloat32> x) {
    int rank = x.shape().numDimensions();
    if (rank < 0) throw new IllegalStateException("gradient of unknown rank");
    int[] axes = new int[rank];
    for (int i = 0; i < rank; i++) axes[i] = i;
    return tf.constant(axes);
  }

  /** The official keys of a config's variables (parameters and BatchNorm buffers), in creation order. */
  public static List<String> officialKeys(RestConfig config) {
    return List.copyOf(RestNetwork.parameters(config).keySet());
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
    return Collections.unmodifiableList(trainableKeys);
  }

  /** Whether AdamW decays this key (official key). */
  public boolean decays(String key) {
    Params.Param p = network.params().all().get(key);
    return p != null && trainableKeys.contains(key) && decays(p);
  }

  /** Every op type between the trainable variables and the loss, and which gradients came from Java. */
  public GradientSupport.Report gradientReport() {
    return gradientReport;
  }

  /** Names of the tensors in a checkpoint of this graph, in order. */
  public Set<String> checkpointNames() {
    return Collections.unmodifiableSet(new LinkedHashSet<>(saved.keySet()));
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
        ? loader.stateDict(session, p -> emaVars.getOrDefault(p.key(), p.variable()))
        : loader.stateDict(session);
  }

  /** Every checkpointed variable (model, slots, EMA) in TF layout, by checkpoint name, to compare runs. */
  public Map<String, float[]> allVariables() {
    Map<String, float[]> out = new LinkedHashMap<>();
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
    List<Tensor> feeds = new ArrayList<>();
    try {
      Session.Runner r = feedBatch(session.runner(), batch, feeds);
      TFloat32 sc = TFloat32.vectorOf(s.toFeed());
      feeds.add(sc);
      r.feed(scalars, sc).addTarget(trainOp).fetch(loss).fetch(gradNorm).fetch(network.logits());
      try (Result res = r.run()) {
        float l = ((TFloat32) res.get(0)).getFloat();
        float gn = ((TFloat32) res.get(1)).getFloat();
        return new StepResult(l, gn, TfTensors.toHost((TFloat32) res.get(2)).toFloats());
      }
    } finally {
      feeds.forEach(Tensor::close);
    }
  }

  /** The loss and the raw (unclipped) gradients of the batch, by official key, in TF layout; nothing is updated. */
  public Map<String, HostTensor> gradients(Batch batch, float[] lossOut) {
    List<Tensor> feeds = new ArrayList<>();
    try {
      Session.Runner r = feedBatch(session.runner(), batch, feeds);
      r.fetch(loss);
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
    if (targets != null) {
      if (b.targets() == null) throw new IllegalArgumentException("this graph takes soft targets");
      TFloat32 t = TFloat32.tensorOf(Shape.of(n, config.numClasses()), DataBuffers.of(b.targets(), true, false));
      feeds.add(t);
      r.feed(targets, t);
    } else {
      TInt32 l = TInt32.tensorOf(Shape.of(n), DataBuffers.of(b.labels(), true, false));
      feeds.add(l);
      r.feed(labels, l);
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
    session.runner().addTarget(which == Weights.EMA ? copyEmaToEval : copyModelToEval).run();
  }

  /** Logits [B, K] of the evaluation network (inference mode) on an NHWC batch. */
  public float[] evalLogits(long[] shape, float[] pixels) {
    try (TFloat32 x = TFloat32.tensorOf(Shape.of(shape), DataBuffers.of(pixels, true, false));
        Result res = session.runner().feed(evalInput, x).fetch(evalNetwork.logits()).run()) {
      return TfTensors.toHost((TFloat32) res.get(0)).toFloats();
    }
  }

  // ---- checkpoints ----

  /** Writes every model, optimizer and EMA variable as a TF V2 checkpoint at {@code prefix}. */
  public void save(Path prefix) {
    try (TString p = TString.scalarOf(prefix.toString())) {
      session.runner().feed(savePrefix, p).addTarget(saveOp).run();
    }
  }

  /** Restores what {@link #save} wrote, for this same graph (config, frozen keys, EMA). */
  public void restore(Path prefix) {
    if (!Files.isRegularFile(Path.of(prefix + ".index"))) {
      throw new BadInputException(prefix + ".index: no such checkpoint");
    }
    try (TString p = TString.scalarOf(prefix.toString())) {
      session.runner().feed(savePrefix, p).addTarget(restoreOp).run();
    } catch (TensorFlowException e) {
      throw new BadInputException(prefix + ": checkpoint does not fit this training graph ("
          + e.getMessage().lines().findFirst().orElse("") + ")");
    }
  }

  @Override
  public void close() {
    session.close();
    graph.close();
  }
}
