package io.resttf.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * A ResT / ResTv2 network added to a graph: input NHWC float32 of any batch size and any H, W that
 * are multiples of 32 → logits and the four stage feature maps (strides 4, 8, 16, 32; each stage's
 * last block output, before the final norm), so the network also serves as a dense-prediction
 * backbone. Variables are created uninitialised, each from its layer's {@link ParamSpec}; a {@link
 * WeightLoader} on {@link #params()} fills them and reads them back as a state_dict.
 *
 * <p>{@link #build(Ops, RestConfig, Operand)} builds the inference network. {@link #build(Ops,
 * RestConfig, Operand, Training)} builds it in training mode: BatchNorm on batch statistics (with the
 * new running averages as {@link #bufferUpdates()}), stochastic depth through per-sample keep masks
 * fed from outside, dropout where asked for. No random op is added for drop path, so a training run is
 * reproducible from the masks alone.
 */
public final class RestNetwork {
  private final RestConfig config;
  private final Params params;
  private final Operand<TFloat32> input;
  private final List<Operand<TFloat32>> stages;
  private final Operand<TFloat32> pooled;
  private final Operand<TFloat32> logits;
  private final Map<String, Operand<TFloat32>> bufferUpdates;
  private final Map<String, Branches> branches;

  /**
   * What enters one block's attention projection, NHWC at the block's resolution (windowed blocks put back
   * together): the attention branch (null in the ConvNet variant), the upsample branch (null without one)
   * and their sum. The ResTv2 paper's Fourier (Figure 3) and CKA (Figure 4) analyses look at these.
   */
  public record Branches(Operand<TFloat32> attention, Operand<TFloat32> upsample, Operand<TFloat32> sum) {}

  private RestNetwork(RestConfig config, Params params, Operand<TFloat32> input,
      List<Operand<TFloat32>> stages, Operand<TFloat32> pooled, Operand<TFloat32> logits,
      Map<String, Operand<TFloat32>> bufferUpdates, Map<String, Branches> branches) {
    this.config = config;
    this.params = params;
    this.input = input;
    this.stages = stages;
    this.pooled = pooled;
    this.logits = logits;
    this.bufferUpdates = bufferUpdates;
    this.branches = branches;
  }

  /**
   * How to build the network for training. Immutable; {@link #standard()} is the usual training mode
   * (every BatchNorm on batch statistics, no drop path, no dropout), {@link #evalMode()} computes what
   * inference computes (for gradient checks against an evaluation-mode reference).
   *
   * <p>Every training-mode graph computes the v1 head interaction's InstanceNorm in a form that is
   * mathematically identical to the inference graph's but keeps full float32 precision when the
   * attention map is nearly uniform (see ResT); without it the small gradients of the V path drown in
   * rounding.
   */
  public static final class Training {
    /** PyTorch's BatchNorm momentum: running = (1 - m) · running + m · batch statistic. */
    public static final double BATCH_NORM_MOMENTUM = 0.1;

    private final Predicate<String> batchStatistics;
    private final Operand<TFloat32> dropPathMasks;
    private final double dropRate;
    private final double attnDropRate;
    private final Operand<TInt64> dropoutSeed;

    private Training(Predicate<String> batchStatistics, Operand<TFloat32> dropPathMasks, double dropRate,
        double attnDropRate, Operand<TInt64> dropoutSeed) {
      this.batchStatistics = batchStatistics;
      this.dropPathMasks = dropPathMasks;
      this.dropRate = dropRate;
      this.attnDropRate = attnDropRate;
      this.dropoutSeed = dropoutSeed;
    }

    /** Every BatchNorm on batch statistics; no drop path, no dropout. */
    public static Training standard() {
      return new Training(prefix -> true, null, 0, 0, null);
    }

    /** Every BatchNorm on its running statistics (as inference); no drop path, no dropout. */
    public static Training evalMode() {
      return new Training(prefix -> false, null, 0, 0, null);
    }

    /**
     * Which BatchNorm layers (by official module prefix, e.g. "stem.proj.1") use batch statistics and
     * update their running averages; the others use their running statistics (e.g. frozen layers).
     */
    public Training withBatchStatistics(Predicate<String> bnPrefixes) {
      return new Training(Objects.requireNonNull(bnPrefixes), dropPathMasks, dropRate, attnDropRate, dropoutSeed);
    }

    /**
     * Stochastic depth: {@code masks} is [{@link #numDropPathMasks}(config), batch] float32; row 2·i
     * multiplies the attention branch of block i (blocks numbered across stages), row 2·i + 1 its MLP
     * branch, per sample. Entries are 0 (dropped) or 1 / keep_prob (kept), as timm's DropPath scales.
     */
    public Training withDropPath(Operand<TFloat32> masks) {
      return new Training(batchStatistics, Objects.requireNonNull(masks), dropRate, attnDropRate, dropoutSeed);
    }

    /**
     * Dropout as the official ResT code places it: {@code rate} after the MLP activation, after fc2 and
     * after the attention projection; {@code attnRate} on the attention map. Masks come from stateless
     * random ops seeded by {@code seed} ([2] int64, fed per step), so they are reproducible.
     */
    public Training withDropout(double rate, double attnRate, Operand<TInt64> seed) {
      if (!(rate >= 0 && rate < 1) || !(attnRate >= 0 && attnRate < 1)) {
        throw new IllegalArgumentException("dropout rates must be in [0, 1)");
      }
      return new Training(batchStatistics, dropPathMasks, rate, attnRate,
          rate > 0 || attnRate > 0 ? Objects.requireNonNull(seed) : null);
    }

    boolean batchStatistics(String bnPrefix) {
      return batchStatistics.test(bnPrefix);
    }

    Operand<TFloat32> dropPathMasks() {
      return dropPathMasks;
    }

    double dropRate() {
      return dropRate;
    }

    double attnDropRate() {
      return attnDropRate;
    }

    Operand<TInt64> dropoutSeed() {
      return dropoutSeed;
    }
  }

  /** Rows of the drop-path mask input: two per block (attention branch, MLP branch). */
  public static int numDropPathMasks(RestConfig config) {
    return 2 * config.totalBlocks();
  }

  /**
   * Drop probability of each block (numbered across stages), as the official code spaces them:
   * {@code torch.linspace(0, drop_path_rate, sum(depths))} in float32.
   */
  public static double[] dropPathRates(RestConfig config, double dropPathRate) {
    int n = config.totalBlocks();
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      // torch.linspace: start + i * step for the first half, end - (n - 1 - i) * step for the rest, in float32
      float step = n == 1 ? 0f : (float) dropPathRate / (n - 1);
      float v = i < n / 2 ? 0f + step * i : (float) dropPathRate - step * (n - 1 - i);
      out[i] = n == 1 ? 0.0 : (double) v;
    }
    return out;
  }

  /**
   * Name of the op that cuts an inference MLP's rows in two, under the MLP's prefix (e.g.
   * "stage3.0.mlp/rows_halves"): in a run's step stats it shows that MLP ran on two halves of its rows, which
   * happens where oneDNN would run its MatMuls on one thread (see Nn#splitMlpRows).
   */
  public static final String MLP_ROWS_SPLIT_OP = "rows_halves";

  /** Builds the network on {@code input} ([B,H,W,in_chans] float32) in {@code tf}'s scope. */
  public static RestNetwork build(Ops tf, RestConfig config, Operand<TFloat32> input) {
    return build(tf, config, input, null);
  }

  /**
   * Builds the network in training mode ({@code training} null = inference, exactly as {@link
   * #build(Ops, RestConfig, Operand)}).
   */
  public static RestNetwork build(Ops tf, RestConfig config, Operand<TFloat32> input, Training training) {
    return build(tf, config, input, training, false);
  }

  /**
   * As {@link #build(Ops, RestConfig, Operand, Training)}; with {@code bf16WeightCopies} (inference only) every
   * MatMul and convolution reads a bfloat16 copy of its weights ({@link Params#Params(Ops, boolean)}).
   */
  public static RestNetwork build(Ops tf, RestConfig config, Operand<TFloat32> input, Training training,
      boolean bf16WeightCopies) {
    if (bf16WeightCopies && training != null) throw new IllegalArgumentException("bfloat16 weight copies are for inference");
    config.validate();
    Params params = new Params(tf, bf16WeightCopies);
    Nn nn = new Nn(tf, params, config, training);
    Architecture arch = Architecture.of(nn);

    Operand<TFloat32>[] stageOut = forwardFeatures(nn, arch, input, (stage, x) -> x);
    int last = RestConfig.NUM_STAGES - 1;
    Operand<TFloat32> x = nn.layerNorm(stageOut[last], "norm", config.dim(last));
    Operand<TFloat32> pooled = tf.math.mean(x, nn.ints(1, 2), Mean.keepDims(false));
    Operand<TFloat32> logits = null;
    if (config.numClasses() > 0) {
      logits = nn.linear(pooled, "head", config.dim(last), config.numClasses(), true);
    }
    return new RestNetwork(config, params, input, List.of(stageOut), pooled, logits,
        Collections.unmodifiableMap(new LinkedHashMap<>(nn.bufferUpdates)), branches(arch));
  }

  /**
   * The network as a dense-prediction backbone, as the official dense code defines it ({@link BackboneStyle}):
   * the stage maps of {@code outIndices} (0..3, strides 4, 8, 16, 32), each through its LayerNorm (over
   * C, epsilon {@code layer_norm_eps}), on the side (mmseg, detectron2 ResTv2) or in the trunk (detectron2
   * ResT); no head. Parameters go into {@code params} (e.g. a {@code backbone.}-prefixed view of a
   * segmentor's). {@link #stage}(i) of the result is output i; {@link #pooled} and {@link #logits} are null.
   */
  public static RestNetwork buildBackbone(Ops tf, RestConfig config, Operand<TFloat32> input, List<Integer> outIndices,
      BackboneStyle style, Params params, Training training) {
    config.validate();
    if (config.family() != style.family()) {
      throw new IllegalArgumentException(style + " backbones are " + style.family().id() + ", the config is "
          + config.family().id());
    }
    if (outIndices.isEmpty() || outIndices.stream().anyMatch(i -> i < 0 || i >= RestConfig.NUM_STAGES)
        || outIndices.stream().distinct().count() != outIndices.size()) {
      throw new IllegalArgumentException("out_indices must be distinct stage indices 0..3, got " + outIndices);
    }
    Nn nn = new Nn(tf, params, config, training);
    java.util.function.BiFunction<Integer, Operand<TFloat32>, Operand<TFloat32>> trunk = (s, x) ->
        style.normsInTrunk() && (outIndices.contains(s) || s == RestConfig.NUM_STAGES - 1)
            ? nn.layerNorm(x, style.normPrefix(s), config.dim(s)) : x;
    Architecture arch = Architecture.of(nn);
    Operand<TFloat32>[] stageOut = forwardFeatures(nn, arch, input, trunk);
    List<Operand<TFloat32>> outs = new java.util.ArrayList<>();
    for (int i : outIndices.stream().sorted().toList()) {
      outs.add(style.normsInTrunk() ? stageOut[i] : nn.layerNorm(stageOut[i], style.normPrefix(i), config.dim(i)));
    }
    return new RestNetwork(config, params, input, List.copyOf(outs), null, null,
        Collections.unmodifiableMap(new LinkedHashMap<>(nn.bufferUpdates)), branches(arch));
  }

  /**
   * The declarations of {@code config}'s parameters and buffers, in creation order, for callers that hold
   * no network of it (key lists, benchmarks of the mapping): the inference network is traced in a scratch
   * graph that is closed at once; no session, no weights.
   */
  public static Map<String, ParamSpec> parameters(RestConfig config) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1, -1, config.inChans())));
      return build(tf, config, x).params().specs();
    }
  }

  /** The blocks' branches keyed "stageN.i" (blocks numbered from 0 within a stage, as the official keys). */
  private static Map<String, Branches> branches(Architecture arch) {
    Map<String, Branches> out = new LinkedHashMap<>();
    arch.branches().forEach((prefix, b) -> out.put(prefix.substring(0, prefix.length() - ".attn".length()), b));
    return Collections.unmodifiableMap(out);
  }

  @SuppressWarnings("unchecked")
  /** The four stage outputs; {@code afterStage} may transform each (stage index, output) before the next stage. */
  private static Operand<TFloat32>[] forwardFeatures(Nn nn, Architecture arch, Operand<TFloat32> input,
      java.util.function.BiFunction<Integer, Operand<TFloat32>, Operand<TFloat32>> afterStage) {
    RestConfig c = nn.config;
    Operand<TFloat32>[] out = new Operand[RestConfig.NUM_STAGES];
    Operand<TFloat32> x = arch.stem(input);
    List<? extends Operand<TFloat32>> masks = null;
    if (nn.training != null && nn.training.dropPathMasks() != null) {
      masks = nn.tf.unstack(nn.training.dropPathMasks(), (long) numDropPathMasks(c)).output();
    }
    int blockIndex = 0;
    for (int s = 0; s < RestConfig.NUM_STAGES; s++) {
      if (s > 0) x = arch.patchEmbed(x, s);
      for (int i = 0; i < c.depth(s); i++) {
        x = block(nn, arch, x, "stage" + (s + 1) + "." + i, s, i,
            masks == null ? null : masks.get(2 * blockIndex), masks == null ? null : masks.get(2 * blockIndex + 1));
        blockIndex++;
      }
      if (c.windowStyle() == DesignSpace.WindowStyle.CWIN) {
        // cwin: windows do not talk to each other; a depthwise conv after the stage's last block lets
        // information cross their borders (a new parameter, starting at zero)
        x = nn.residualDepthwise(x, "cwin" + (s + 1), c.dim(s), 3);
      }
      x = afterStage.apply(s, x);
      out[s] = nn.tf.identity(x);
    }
    return out;
  }

  /**
   * Pre-norm transformer block: x + attn(LN(x)), then x + mlp(LN(x)); each branch through drop path in
   * training. In a windowed block (window_style) the attention sees one window at a time.
   */
  private static Operand<TFloat32> block(Nn nn, Architecture arch, Operand<TFloat32> x, String prefix, int stage,
      int index, Operand<TFloat32> attnKeep, Operand<TFloat32> mlpKeep) {
    if (nn.splitBlocks && !nn.config.windowed(stage, index)) {
      return blockOnHalvesAtBatch1(nn, arch, x, prefix, stage, index);
    }
    return wholeBlock(nn, arch, x, prefix, stage, index, attnKeep, mlpKeep);
  }

  private static Operand<TFloat32> wholeBlock(Nn nn, Architecture arch, Operand<TFloat32> x, String prefix, int stage,
      int index, Operand<TFloat32> attnKeep, Operand<TFloat32> mlpKeep) {
    int dim = nn.config.dim(stage);
    Operand<TFloat32> normed = nn.layerNorm(x, prefix + ".norm1", dim);
    String attnPrefix = prefix + ".attn";
    Operand<TFloat32> a;
    if (nn.config.windowed(stage, index)) {
      Nn.Windowed w = nn.windowed(normed, nn.config.windowSize(stage), t -> arch.attention(t, attnPrefix, stage));
      a = w.output();
      Branches b = arch.branches().get(attnPrefix);
      arch.branches().put(attnPrefix, new Branches(b.attention() == null ? null : w.merge().apply(b.attention()),
          b.upsample() == null ? null : w.merge().apply(b.upsample()), w.merge().apply(b.sum())));
    } else {
      a = arch.attention(normed, attnPrefix, stage);
    }
    x = nn.tf.math.add(x, nn.dropPath(a, attnKeep));
    Operand<TFloat32> m = nn.mlp(nn.layerNorm(x, prefix + ".norm2", dim), prefix + ".mlp", dim, nn.config.mlpHidden(stage));
    return nn.tf.math.add(x, nn.dropPath(m, mlpKeep));
  }

  /**
   * An inference block (not windowed) built twice: whole, and on two bands of its token rows (the grid's top and
   * bottom halves) that the executor runs side by side on its two inter-op threads; a run of one image takes the
   * halves, any other the whole block ({@code Switch} / {@code Merge}). Only k, v and the upsample branch need
   * every token: they are computed once, and each band takes its query rows' attention, its rows of the upsample
   * branch, the projection, both residuals and the MLP (ResT v1's head interaction shares its InstanceNorm's
   * statistics across the bands, SpatialReductionAttention#bandRows). At batch 1 most of these models' MatMuls are
   * too small for oneDNN to use a second thread (Nn#splitMlpRows); row by row the arithmetic is the whole block's.
   */
  private static Operand<TFloat32> blockOnHalvesAtBatch1(Nn nn, Architecture arch, Operand<TFloat32> x, String prefix,
      int stage, int index) {
    Ops tf = nn.tf;
    Operand<TInt64> shape = tf.shape(x, TInt64.class);
    Operand<TInt64> b = tf.stridedSlice(shape, org.tensorflow.ndarray.index.Indices.at(0));
    Operand<TInt64> h = tf.stridedSlice(shape, org.tensorflow.ndarray.index.Indices.at(1));
    Operand<org.tensorflow.types.TBool> one = tf.math.logicalAnd(tf.math.equal(b, tf.constant(1L)),
        tf.math.greaterEqual(h, tf.constant(2L)));
    org.tensorflow.op.core.SwitchCond<TFloat32> byBatch = tf.switchCond(x, one);
    Operand<TFloat32> whole = wholeBlock(nn, arch, byBatch.outputFalse(), prefix, stage, index, null, null);
    String attnPrefix = prefix + ".attn";
    Branches wholeBranches = arch.branches().get(attnPrefix);
    Operand<TFloat32> rows = byBatch.outputTrue();
    Operand<TInt64> top = tf.math.floorDiv(h, tf.constant(2L));
    Operand<TInt64> sizes = tf.stack(List.of(top, tf.math.sub(h, top)));
    java.util.function.Function<Operand<TFloat32>, List<Operand<TFloat32>>> bands = t -> tf.splitV(t, sizes,
        tf.constant(1), 2L).output().stream().map(o -> (Operand<TFloat32>) o).toList();
    List<Operand<TFloat32>> halves = nn.params.reusing(() -> {
      int dim = nn.config.dim(stage);
      SpatialReductionAttention attention = arch.attentionModule();
      Operand<TFloat32> normed = nn.layerNorm(rows, prefix + ".norm1", dim);
      Nn.LinearParams q = attention.queryParams(attnPrefix, stage);
      SpatialReductionAttention.Context context = attention.context(normed, attnPrefix, stage);
      List<Operand<TFloat32>> xs = tf.withSubScope(prefix).withName(BLOCK_ROWS_SPLIT_OP).splitV(rows, sizes,
          tf.constant(1), 2L).output().stream().map(o -> (Operand<TFloat32>) o).toList();
      List<Operand<TFloat32>> ns = bands.apply(normed);
      List<Operand<TFloat32>> ups = context.up() == null ? null : bands.apply(context.up());
      List<Operand<TFloat32>> out = new java.util.ArrayList<>();
      List<SpatialReductionAttention.Rows> parts = attention.bandRows(ns, q, context, ups, attnPrefix, stage);
      for (int i = 0; i < 2; i++) {
        SpatialReductionAttention.Rows r = parts.get(i);
        Operand<TFloat32> xi = tf.math.add(xs.get(i), r.projected());
        Operand<TFloat32> m = nn.mlpWhole(nn.layerNorm(xi, prefix + ".norm2", dim), prefix + ".mlp", dim, nn.config.mlpHidden(stage));
        out.add(tf.math.add(xi, m));
      }
      // the branches, joined (built for whoever fetches them; pruned from runs that do not)
      java.util.function.Function<java.util.function.Function<SpatialReductionAttention.Rows, Operand<TFloat32>>, Operand<TFloat32>> join =
          f -> f.apply(parts.get(0)) == null ? null : tf.concat(List.of(f.apply(parts.get(0)), f.apply(parts.get(1))), tf.constant(1));
      out.add(join.apply(SpatialReductionAttention.Rows::attended));
      out.add(context.up());
      out.add(join.apply(SpatialReductionAttention.Rows::sum));
      return out;
    });
    Operand<TFloat32> joined = tf.concat(List.of(halves.get(0), halves.get(1)), tf.constant(1));
    java.util.function.BiFunction<Operand<TFloat32>, Operand<TFloat32>, Operand<TFloat32>> merge =
        (w, s) -> w == null ? null : tf.merge(List.of(w, s)).output();
    arch.branches().put(attnPrefix, new Branches(merge.apply(wholeBranches.attention(), halves.get(2)),
        merge.apply(wholeBranches.upsample(), halves.get(3)), merge.apply(wholeBranches.sum(), halves.get(4))));
    return tf.merge(List.of(whole, joined)).output();
  }

  /**
   * Whether inference graphs built now run a single image's blocks (not windowed) and large convolutions on two bands
   * of rows: as {@link #buildingWithBands} sets it on this thread, else system property {@code resttf.splitBlocks}
   * (true, false, or auto = when this process runs ops on one intra-op thread). Throws BadInputException on another
   * value.
   */
  public static boolean blocksOnBandsAtBatch1() {
    return Nn.splitBlocks();
  }

  /** Whether a graph carries the batch-1 bands: {@code AUTO} leaves it to {@link #blocksOnBandsAtBatch1}. */
  public enum Bands {
    AUTO, ON, OFF;

    /** "auto", "on" or "off"; anything else is one line naming {@code what}. */
    public static Bands parse(String value, String what) {
      return switch (value) {
        case "auto" -> AUTO;
        case "on" -> ON;
        case "off" -> OFF;
        default -> throw new io.resttf.tensor.BadInputException(what + " must be auto, on or off, not '" + value + "'");
      };
    }
  }

  static final ThreadLocal<Boolean> BANDS_ON_THIS_THREAD = new ThreadLocal<>();

  /**
   * Runs {@code body} with the inference graphs it builds on this thread carrying the batch-1 bands ({@code ON}) or
   * not ({@code OFF}), whatever this process's thread pools or {@code resttf.splitBlocks} say; {@code AUTO} changes
   * nothing. For graphs built for another process, e.g. a SavedModel for a server with one intra-op thread.
   */
  public static <T> T buildingWithBands(Bands bands, java.util.function.Supplier<T> body) {
    if (bands == Bands.AUTO) return body.get();
    Boolean old = BANDS_ON_THIS_THREAD.get();
    BANDS_ON_THIS_THREAD.set(bands == Bands.ON);
    try {
      return body.get();
    } finally {
      if (old == null) BANDS_ON_THIS_THREAD.remove(); else BANDS_ON_THIS_THREAD.set(old);
    }
  }

  /** Name of the op that cuts a block's tokens into two bands of rows, in a run's step stats. */
  public static final String BLOCK_ROWS_SPLIT_OP = "block_halves";

  /**
   * Name of the op that cuts a convolution's top band of rows out of its padded input (e.g. "patch_2.proj/conv_top_band"),
   * in a run's step stats: where blocks run on bands, so do the stem's and patch embeddings' large convolutions.
   */
  public static final String CONV_ROWS_SPLIT_OP = "conv_top_band";

  public RestConfig config() {
    return config;
  }

  public Params params() {
    return params;
  }

  public Operand<TFloat32> input() {
    return input;
  }

  /** Output of stage {@code i} (0..3), NHWC; for a {@link #buildBackbone backbone}, its i-th normed output. */
  public Operand<TFloat32> stage(int i) {
    return stages.get(i);
  }

  /** Number of stage outputs (4, or a backbone's out indices). */
  public int numStages() {
    return stages.size();
  }

  /** Final-norm, globally pooled features [B, dims[3]]; null for a backbone. */
  public Operand<TFloat32> pooled() {
    return pooled;
  }

  /** Logits [B, num_classes]; null when num_classes is 0. */
  public Operand<TFloat32> logits() {
    return logits;
  }

  /** What entered each block's attention projection, by block ("stage1.0", …), in block order. */
  public Map<String, Branches> branches() {
    return branches;
  }

  /**
   * In training mode: the new value of each BatchNorm running statistic that uses batch statistics
   * (official key, e.g. "stem.proj.1.running_mean" → (1 - m) · old + m · batch mean, the variance
   * unbiased as PyTorch keeps it). Assigning them is the caller's job; empty for inference.
   */
  public Map<String, Operand<TFloat32>> bufferUpdates() {
    return bufferUpdates;
  }
}
