package io.resttf.model;

import io.resttf.util.ThreadPools;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.index.Indices;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Split;
import org.tensorflow.op.core.SplitV;
import org.tensorflow.op.core.SwitchCond;
import org.tensorflow.op.math.Mean;
import org.tensorflow.op.nn.FusedBatchNorm;
import org.tensorflow.op.train.BatchMatMul;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * The layers both families are made of, written with TF ops on NHWC tensors. Each method takes the
 * official module prefix (e.g. "stage1.0.attn.q") and creates that module's parameters through
 * {@link Params} under the official keys, each declared with its {@link ParamKind} (which alone decides
 * its layout, initialisation and export): a new layer written with these helpers needs no mapping edit.
 *
 * <p>Padding is always explicit ({@code Pad} + VALID): PyTorch pads symmetrically while TF's SAME
 * does not for stride 2, and EXPLICIT padding breaks gradients and oneDNN fusions on this stack.
 *
 * <p>With a {@link RestNetwork.Training} spec the layers that behave differently in training do so
 * (BatchNorm, drop path, dropout); without one (inference) they add exactly the inference ops.
 */
final class Nn {
  final Ops tf;
  final Params params;
  final RestConfig config;
  /** Null for inference. */
  final RestNetwork.Training training;
  /** Inference graphs: convolutions as oneDNN Conv2D (default) rather than patches × weights. */
  private final boolean nativeConv;
  /** Inference graphs: blocks also built on two bands of rows, taken at batch 1 ({@link #splitBlocks()}). */
  final boolean splitBlocks;
  /** Training mode: new values of BatchNorm running statistics, by official key. */
  final Map<String, Operand<TFloat32>> bufferUpdates = new LinkedHashMap<>();
  private int dropoutSites;

  Nn(Ops tf, Params params, RestConfig config, RestNetwork.Training training) {
    this.tf = tf;
    this.params = params;
    this.config = config;
    this.training = training;
    this.nativeConv = training == null && !inferenceConvAsMatMul();
    this.splitBlocks = training == null && splitBlocks();
  }

  /**
   * System property {@value #CONV_PROPERTY} ("true" / "false", default false): inference graphs compute
   * convolutions as patches × weights, the training form, instead of oneDNN's Conv2D. On the AMD Zen
   * machine of earlier measurements that form was 2-3x faster for the stem and patch embeddings; on this
   * Intel one oneDNN's Conv2D is (bench/PROFILE.md). Read when a graph is built; exports keep the form
   * they were built with.
   */
  static boolean inferenceConvAsMatMul() {
    return booleanProperty(CONV_PROPERTY, false);
  }

  /** A graph-form switch: the system property's "true" / "false", {@code unset} when absent; else one line. */
  static boolean booleanProperty(String name, boolean unset) {
    String v = System.getProperty(name);
    if (v == null) return unset;
    if (v.equals("true") || v.equals("false")) return v.equals("true");
    throw new io.resttf.tensor.BadInputException("system property " + name + " must be true or false, not '" + v + "'");
  }

  static final String CONV_PROPERTY = "resttf.inferenceConvAsMatMul";

  // ---- shapes ----

  Operand<TInt32> ints(int... v) {
    return tf.constant(v);
  }

  /** Dimensions {@code [from, to)} of x's dynamic shape, as a 1-D int32 tensor. */
  Operand<TInt32> dims(Operand<TFloat32> x, int from, int to) {
    return tf.stridedSlice(tf.shape(x), Indices.slice(from, to));
  }

  @SafeVarargs
  final Operand<TInt32> concat(Operand<TInt32>... parts) {
    return tf.concat(Arrays.asList(parts), tf.constant(0));
  }

  /** Reshapes x to [batch(x), rest...] where rest may hold one -1. */
  Operand<TFloat32> reshapeKeepBatch(Operand<TFloat32> x, Operand<TInt32> batch, int... rest) {
    return tf.reshape(x, concat(batch, ints(rest)));
  }

  Operand<TFloat32> transpose(Operand<TFloat32> x, int... perm) {
    return tf.linalg.transpose(x, ints(perm));
  }

  Operand<TFloat32> matmul(Operand<TFloat32> a, Operand<TFloat32> b, boolean adjA, boolean adjB) {
    return tf.train.batchMatMul(a, b, TFloat32.class, BatchMatMul.adjX(adjA), BatchMatMul.adjY(adjB));
  }

  Operand<TFloat32> scalar(double v) {
    return tf.constant((float) v);
  }

  List<Operand<TFloat32>> splitLast(Operand<TFloat32> x, int parts) {
    Split<TFloat32> s = tf.split(tf.constant(-1), x, (long) parts);
    return s.output().stream().map(o -> (Operand<TFloat32>) o).toList();
  }

  // ---- layers ----

  /** nn.Linear over the last axis of a tensor of any rank ≥ 2. */
  Operand<TFloat32> linear(Operand<TFloat32> x, String prefix, int in, int out, boolean bias) {
    return linear(x, linearParams(prefix, in, out, bias), in, out);
  }

  /** nn.Linear with declared parameters on x [..., in] → [..., out]. */
  Operand<TFloat32> linear(Operand<TFloat32> x, LinearParams p, int in, int out) {
    Operand<TFloat32> y = p.apply(tf.reshape(x, ints(-1, in)));
    Operand<TInt32> lead = tf.stridedSlice(tf.shape(x), Indices.slice(0, -1));
    return tf.reshape(y, concat(lead, ints(out)));
  }

  /** nn.Linear on rows [n, in] → [n, out]: MatMul (+ BiasAdd). */
  Operand<TFloat32> dense(Operand<TFloat32> rows, String prefix, int in, int out, boolean bias) {
    return linearParams(prefix, in, out, bias).apply(rows);
  }

  /** An nn.Linear's parameters, declared (weight, then bias) under {@code prefix}, ready to apply to rows. */
  LinearParams linearParams(String prefix, int in, int out, boolean bias) {
    ParamSpec w = ParamSpec.linear(prefix + ".weight", out, in);
    Operand<TFloat32> weight = params.add(w);
    return new LinearParams(tf.withSubScope(prefix), weight, bias ? params.add(ParamSpec.bias(prefix + ".bias", w, out)) : null);
  }

  /** A linear layer's weight and bias (null: none); its ops are named after the module, for profiles. */
  record LinearParams(Ops scope, Operand<TFloat32> weight, Operand<TFloat32> bias) {
    Operand<TFloat32> apply(Operand<TFloat32> rows) {
      Operand<TFloat32> y = scope.linalg.matMul(rows, weight);
      return bias == null ? y : scope.nn.biasAdd(y, bias);
    }
  }

  Operand<TFloat32> pad(Operand<TFloat32> x, int p) {
    return pad(x, p, 0f);
  }

  /** x [B,H,W,C] with p rows and columns of {@code value} on every side. */
  Operand<TFloat32> pad(Operand<TFloat32> x, int p, float value) {
    if (p == 0) return x;
    return tf.pad(x, tf.constant(new int[][] {{0, 0}, {p, p}, {p, p}, {0, 0}}), tf.constant(value));
  }

  /**
   * nn.Conv2d(in, out, k, stride, padding=p, bias). Training graphs compute it as patches × weights
   * ({@link #convAsMatMul}): the gradient TensorFlow builds for Conv2D, Conv2DBackpropInput, runs a oneDNN
   * kernel that is wrong on AVX-512 for some shapes (README, "TensorFlow traps"). Inference graphs use
   * oneDNN's Conv2D (SAME where it equals PyTorch's padding, else Pad + VALID): on this Intel AVX-512 machine
   * it runs these convolutions at 230-270 GFLOP/s, where the patch Gather alone cost as much as the MatMul
   * after it (rest_lite at batch 1: 37 → 34 ms). See {@link #inferenceConvAsMatMul} for the other form.
   */
  Operand<TFloat32> conv(Operand<TFloat32> x, String prefix, int in, int out, int k, int stride, int p, boolean bias) {
    ParamSpec spec = ParamSpec.conv(prefix + ".weight", out, in, k, k);
    Operand<TFloat32> w = params.add(spec);
    Operand<TFloat32> b = bias ? params.add(ParamSpec.bias(prefix + ".bias", spec, out)) : null;
    if (k == 1 && stride == 1 && p == 0) return pointwise(tf.withSubScope(prefix), x, w, b, in, out);
    if (nativeConv) {
      Ops s = tf.withSubScope(prefix);
      return conv2d(s, x, w, k, stride, p, y -> b == null ? y : s.nn.biasAdd(y, b));
    }
    return convAsMatMul(tf.withSubScope(prefix), pad(x, p), w, b, in, out, k, stride);
  }

  /**
   * nn.Conv2d then nn.BatchNorm2d. Inference graphs write it as Conv2D → FusedBatchNormV3 (inference
   * mode, the conv's bias taken into the mean), the pattern grappler's remapper folds into one fused
   * convolution: one oneDNN op instead of the convolution and four element-wise passes over the map (the ReLU
   * after it: {@link #reluAfterConv}). Folding the statistics into the weights in the graph instead costs a
   * broadcast multiply of every weight per run (1.1 ms for patch_embed_4).
   */
  Operand<TFloat32> convBatchNorm(Operand<TFloat32> x, String convPrefix, String normPrefix, int in, int out, int k,
      int stride, int p, boolean bias) {
    if (!nativeConv) {
      return batchNorm(conv(x, convPrefix, in, out, k, stride, p, bias), normPrefix, out);
    }
    ParamSpec spec = ParamSpec.conv(convPrefix + ".weight", out, in, k, k);
    Operand<TFloat32> w = params.add(spec);
    Operand<TFloat32> b = bias ? params.add(ParamSpec.bias(convPrefix + ".bias", spec, out)) : null;
    NormParams bn = batchNormParams(normPrefix, out);
    // BN(conv + b) with mean m is BN(conv) with mean m - b
    Ops n = tf.withSubScope(normPrefix);
    Operand<TFloat32> centre = b == null ? bn.mean() : n.math.sub(bn.mean(), b);
    return conv2d(tf.withSubScope(convPrefix), x, w, k, stride, p, y -> n.nn.fusedBatchNorm(y, bn.gamma(), bn.beta(),
        centre, bn.var(), FusedBatchNorm.epsilon((float) RestConfig.BATCH_NORM_EPS), FusedBatchNorm.isTraining(false)).y());
  }

  /**
   * oneDNN's Conv2D with PyTorch's symmetric padding p (SAME where that is the same, else Pad + VALID), then
   * {@code epilogue} (the bias or BatchNorm that the remapper fuses into it). With bands on ({@link #splitBlocks})
   * a map of at least two output rows is convolved as two bands of output rows instead, each band reading its input
   * rows with their halo: at batch 1 on one intra-op thread each band gets a core, where the whole convolution
   * would get one ({@link #convOnBandsOfRows}).
   */
  private Operand<TFloat32> conv2d(Ops s, Operand<TFloat32> x, Operand<TFloat32> w, int k, int stride, int p,
      java.util.function.UnaryOperator<Operand<TFloat32>> epilogue) {
    List<Long> strides = List.of(1L, (long) stride, (long) stride, 1L);
    long macsPerPixel = (long) k * k * w.shape().get(2) * w.shape().get(3);
    String bands = splitBlocks ? convBands() : "false";
    // a map whose height is fixed in the graph (e.g. a pooled 1×1 map in a segmentation head) and gives one output
    // row stays whole: a band of no rows would fail shape inference even in the branch that never runs
    long h = x.shape().numDimensions() == 4 ? x.shape().get(1) : -1;
    boolean oneRow = h >= 0 && (h + 2L * p - k) / stride + 1 < 2;
    if (!oneRow && (bands.equals("all") || bands.equals("true") && macsPerPixel >= SPLIT_CONV_MIN_MACS_PER_PIXEL)) {
      return convOnBandsOfRows(s, pad(x, p), w, k, stride, macsPerPixel, bands.equals("all") ? 0 : SPLIT_CONV_MIN_MACS,
          epilogue);
    }
    return epilogue.apply(samePadding(k, stride, p) ? s.nn.conv2d(x, w, strides, "SAME")
        : s.nn.conv2d(pad(x, p), w, strides, "VALID"));
  }

  /**
   * A VALID convolution of the padded map {@code xp} on two bands of output rows: the top ⌊Ho/2⌋ rows read padded
   * rows [0, (⌊Ho/2⌋ - 1)·stride + k), the rest read [⌊Ho/2⌋·stride, Hp); each band through {@code epilogue}, then
   * joined. Every output value is the whole convolution's (same taps, same order). Maps of one output row, and runs
   * of fewer than {@code minMacs} multiply-adds (too short for a second core to pay for the join), take the whole
   * convolution ({@code Switch} / {@code Merge}, decided per run: the graph takes any size).
   */
  private Operand<TFloat32> convOnBandsOfRows(Ops s, Operand<TFloat32> xp, Operand<TFloat32> w, int k, int stride,
      long macsPerPixel, long minMacs, java.util.function.UnaryOperator<Operand<TFloat32>> epilogue) {
    List<Long> strides = List.of(1L, (long) stride, (long) stride, 1L);
    Operand<TInt64> shape = tf.shape(xp, TInt64.class);
    java.util.function.Function<Operand<TInt64>, Operand<TInt64>> outSize = n -> tf.math.add(
        tf.math.floorDiv(tf.math.sub(n, tf.constant((long) k)), tf.constant((long) stride)), tf.constant(1L));
    Operand<TInt64> ho = outSize.apply(tf.stridedSlice(shape, Indices.at(1)));
    Operand<TInt64> macs = tf.math.mul(tf.math.mul(tf.stridedSlice(shape, Indices.at(0)), ho),
        tf.math.mul(outSize.apply(tf.stridedSlice(shape, Indices.at(2))), tf.constant(macsPerPixel)));
    SwitchCond<TFloat32> byRows = tf.switchCond(xp, tf.math.logicalAnd(tf.math.greaterEqual(ho, tf.constant(2L)),
        tf.math.greaterEqual(macs, tf.constant(minMacs))));
    Operand<TFloat32> whole = epilogue.apply(s.nn.conv2d(byRows.outputFalse(), w, strides, "VALID"));
    Operand<TFloat32> in = byRows.outputTrue();
    Operand<TInt64> top = tf.math.floorDiv(ho, tf.constant(2L));
    Operand<TInt64> topRows = tf.math.add(tf.math.mul(tf.math.sub(top, tf.constant(1L)), tf.constant((long) stride)),
        tf.constant((long) k));
    Operand<TInt64> bottomStart = tf.math.mul(top, tf.constant((long) stride));
    Operand<TInt64> zero = tf.constant(0L), all = tf.constant(-1L);
    Operand<TFloat32> upper = s.withName(CONV_ROWS_SPLIT_OP).slice(in, tf.stack(List.of(zero, zero, zero, zero)),
        tf.stack(List.of(all, topRows, all, all)));
    Operand<TFloat32> lower = s.slice(in, tf.stack(List.of(zero, bottomStart, zero, zero)), tf.stack(List.of(all, all, all, all)));
    Operand<TFloat32> bands = tf.concat(List.of(epilogue.apply(s.nn.conv2d(upper, w, strides, "VALID")),
        epilogue.apply(s.nn.conv2d(lower, w, strides, "VALID"))), tf.constant(1));
    return tf.merge(List.of(whole, bands)).output();
  }

  /**
   * nn.ReLU after {@link #convBatchNorm}. Inference graphs write it as Maximum(x, 0): grappler would fuse a Relu
   * into the convolution, and oneDNN's fused ReLU maps NaN to 0 where PyTorch's keeps it (a non-finite input
   * then gave finite logits); the norm stays fused, the ReLU is one more pass over the map.
   */
  Operand<TFloat32> reluAfterConv(Operand<TFloat32> x) {
    return nativeConv ? tf.math.maximum(x, scalar(0)) : tf.nn.relu(x);
  }

  /**
   * A VALID convolution of x [B,H,W,in] with HWIO weights [k,k,in,out] (and a bias, or null), as one
   * MatMul (+ BiasAdd, which the remapper fuses) of its patches.
   * The patches are one Gather of x's pixels (row (o·s + i)·W + q·s + j for output (o, q) and tap
   * (i, j)), laid out [B·Ho·Wo, k·k·in] in (i, j, c) order, the row order of the weights reshaped to
   * [k·k·in, out]. Its gradient is MatMul and the Gather's UnsortedSegmentSum, never
   * Conv2DBackpropInput; and being one op, x's gradient is no sum of per-tap pieces, whose order
   * TensorFlow's gradient builder does not fix from one graph build to the next (k² strided slices made
   * resumed training runs differ in the last bits).
   */
  static Operand<TFloat32> convAsMatMul(Ops tf, Operand<TFloat32> x, Operand<TFloat32> w, Operand<TFloat32> bias,
      int in, int out, int k, int stride) {
    Operand<TInt32> shape = tf.shape(x);
    Operand<TInt32> batch = tf.stridedSlice(shape, Indices.slice(0, 1));
    Operand<TInt32> hIn = tf.stridedSlice(shape, Indices.at(1));
    Operand<TInt32> wIn = tf.stridedSlice(shape, Indices.at(2));
    // output positions per axis: (size - k) / stride + 1 (Div: FloorDiv has no gradient to pass on; size ≥ k)
    Operand<TInt32> hOut = tf.math.add(tf.math.div(tf.math.sub(hIn, tf.constant(k)), tf.constant(stride)), tf.constant(1));
    Operand<TInt32> wOut = tf.math.add(tf.math.div(tf.math.sub(wIn, tf.constant(k)), tf.constant(stride)), tf.constant(1));
    Operand<TInt32> rows = taps(tf, hOut, k, stride); // [Ho, k]: input row of output row o, tap i
    Operand<TInt32> cols = taps(tf, wOut, k, stride); // [Wo, k]
    Operand<TInt32> index = tf.math.add(
        tf.math.mul(tf.reshape(rows, tf.constant(new int[] {-1, 1, k, 1})), wIn),
        tf.reshape(cols, tf.constant(new int[] {1, -1, 1, k}))); // [Ho, Wo, k, k]
    Operand<TFloat32> pixels = tf.reshape(x, tf.concat(List.of(batch, tf.constant(new int[] {-1, in})), tf.constant(0)));
    Operand<TFloat32> patches = tf.gather(pixels, tf.reshape(index, tf.constant(new int[] {-1})), tf.constant(1));
    Operand<TFloat32> y = tf.linalg.matMul(tf.reshape(patches, tf.constant(new int[] {-1, k * k * in})),
        tf.reshape(w, tf.constant(new int[] {k * k * in, out})));
    if (bias != null) y = tf.nn.biasAdd(y, bias);
    Operand<TInt32> outShape = tf.concat(List.of(batch, tf.reshape(hOut, tf.constant(new int[] {1})),
        tf.reshape(wOut, tf.constant(new int[] {1})), tf.constant(new int[] {out})), tf.constant(0));
    return tf.reshape(y, outShape);
  }

  /** TF's SAME padding equals PyTorch's symmetric p: stride 1 and an odd kernel with p = (k - 1) / 2. */
  static boolean samePadding(int k, int stride, int p) {
    return stride == 1 && k % 2 == 1 && 2 * p == k - 1;
  }

  /** A 1×1 convolution: the pixels as rows [B·H·W, in] × weights [in, out] (+ BiasAdd), no patch Gather. */
  private static Operand<TFloat32> pointwise(Ops tf, Operand<TFloat32> x, Operand<TFloat32> w, Operand<TFloat32> bias,
      int in, int out) {
    Operand<TFloat32> y = tf.linalg.matMul(tf.reshape(x, tf.constant(new int[] {-1, in})),
        tf.reshape(w, tf.constant(new int[] {in, out})));
    if (bias != null) y = tf.nn.biasAdd(y, bias);
    Operand<TInt32> lead = tf.stridedSlice(tf.shape(x), Indices.slice(0, 3));
    return tf.reshape(y, tf.concat(List.of(lead, tf.constant(new int[] {out})), tf.constant(0)));
  }

  /** [n, k]: stride·o + i, the input index that output o reads with tap i. */
  private static Operand<TInt32> taps(Ops tf, Operand<TInt32> n, int k, int stride) {
    Operand<TInt32> starts = tf.math.mul(tf.range(tf.constant(0), n, tf.constant(1)), tf.constant(stride));
    return tf.math.add(tf.reshape(starts, tf.constant(new int[] {-1, 1})), tf.range(tf.constant(0), tf.constant(k), tf.constant(1)));
  }

  /** nn.Conv2d(c, c·m, k, stride, padding=p, groups=c) with bias. */
  Operand<TFloat32> depthwise(Operand<TFloat32> x, String prefix, int c, int m, int k, int stride, int p) {
    return depthwise(x, ParamSpec.depthwise(prefix + ".weight", c, m, k), prefix, c, m, k, stride, p, true);
  }

  /** x + dwconv k×k (c → c, bias) whose weights start at zero: a branch added to a trained network. */
  Operand<TFloat32> residualDepthwise(Operand<TFloat32> x, String prefix, int c, int k) {
    // padded explicitly: a SAME DepthwiseConv2dNative + BiasAdd + AddV2 makes TF 2.18's remapper emit a node
    // without an op type, and the whole remapper pass is then dropped ("remapper failed", FusionTest)
    return addV2(x, depthwise(x, ParamSpec.residualDepthwise(prefix + ".weight", c, k), prefix, c, 1, k, 1, k / 2,
        false));
  }

  private Operand<TFloat32> depthwise(Operand<TFloat32> x, ParamSpec spec, String prefix, int c, int m, int k,
      int stride, int p, boolean sameAllowed) {
    Operand<TFloat32> w = params.add(spec); // [k, k, c, m]
    Ops s = tf.withSubScope(prefix);
    // inference: SAME where it equals PyTorch's padding, so no Pad op runs before the conv
    boolean same = sameAllowed && nativeConv && samePadding(k, stride, p);
    Operand<TFloat32> in = same ? x : pad(x, p);
    if (m > 1) {
      // oneDNN has no fast kernel for a channel multiplier > 1 (ResTv2's up convs: 4-64): a stage-3 up conv
      // took 3-8 ms for 0.7 M multiply-adds. Each input channel repeated m times, in PyTorch's (c, m)
      // output order, makes it a multiplier-1 depthwise conv over c·m channels with the same weights.
      Operand<TInt32> shape = s.shape(in);
      Operand<TFloat32> repeated = s.broadcastTo(s.expandDims(in, s.constant(-1)),
          concat(shape, ints(m)));
      in = s.reshape(repeated, concat(s.stridedSlice(shape, Indices.slice(0, 3)), ints(c * m)));
      w = s.reshape(w, ints(k, k, c * m, 1));
    }
    Operand<TFloat32> y =
        s.nn.depthwiseConv2dNative(in, w, List.of(1L, (long) stride, (long) stride, 1L), same ? "SAME" : "VALID");
    return s.nn.biasAdd(y, params.add(ParamSpec.bias(prefix + ".bias", spec, (long) c * m)));
  }

  /**
   * nn.LayerNorm(dim, eps) over the last axis. Inference graphs write it as the Keras form that grappler's
   * remapper fuses into one oneDNN {@code _MklLayerNorm} (rows as one training-mode FusedBatchNormV3
   * over [1, rows, dim, 1] NCHW, then × gamma + beta): one op instead of nine per norm, 47 of them in
   * restv2_tiny. Training graphs keep the element-wise form, whose gradient TF builds from C++ ops.
   */
  Operand<TFloat32> layerNorm(Operand<TFloat32> x, String prefix, int dim) {
    Operand<TFloat32> gamma = params.add(ParamSpec.vector(prefix + ".weight", ParamKind.NORM_WEIGHT, dim));
    Operand<TFloat32> beta = params.add(ParamSpec.vector(prefix + ".bias", ParamKind.NORM_BIAS, dim));
    if (training == null) return fusableLayerNorm(tf.withSubScope(prefix), x, gamma, beta, dim);
    Operand<TInt32> axis = ints(-1);
    Operand<TFloat32> mean = tf.math.mean(x, axis, Mean.keepDims(true));
    Operand<TFloat32> centered = tf.math.sub(x, mean);
    Operand<TFloat32> var = tf.math.mean(tf.math.square(centered), axis, Mean.keepDims(true));
    Operand<TFloat32> inv = tf.math.rsqrt(tf.math.add(var, scalar(config.layerNormEps())));
    return tf.math.add(tf.math.mul(tf.math.mul(centered, inv), gamma), beta);
  }

  /**
   * The remapper's LayerNorm pattern, exactly: input of rank 2 → Reshape [1, rows, dim, 1] →
   * FusedBatchNormV3(is_training, NCHW, scale = Fill(rows, 1), offset = Fill(rows, 0), empty mean and
   * variance) → Reshape back → Mul gamma → AddV2 beta. Without oneDNN it still computes LayerNorm.
   */
  private Operand<TFloat32> fusableLayerNorm(Ops s, Operand<TFloat32> x, Operand<TFloat32> gamma,
      Operand<TFloat32> beta, int dim) {
    Operand<TFloat32> rows = s.reshape(x, ints(-1, dim));
    // TF 2.9-2.11 with oneDNN fuse this into _MklLayerNorm but drop its epsilon for the default 1e-3
    // (tensorflow/tensorflow#58863): with eps 1e-6 every norm came out wrong (logits off by 0.8 in TF 2.10.1).
    // LayerNorm((x·k), e) = LayerNorm(x, e / k²), so the rows are scaled by k = sqrt(1e-3 / eps) and the op
    // carries epsilon 1e-3: right whether a runtime honours the attribute or falls back to that default.
    double eps = config.layerNormEps();
    if (eps < FUSED_LAYER_NORM_DEFAULT_EPS) {
      rows = s.math.mul(rows, scalar(Math.sqrt(FUSED_LAYER_NORM_DEFAULT_EPS / eps)));
      eps = FUSED_LAYER_NORM_DEFAULT_EPS;
    }
    Operand<TInt32> rowShape = s.shape(rows);
    Operand<TInt32> n = s.stridedSlice(rowShape, Indices.slice(0, 1));
    Operand<TFloat32> nchw = s.reshape(rows, concat(ints(1), n, ints(dim, 1)));
    Operand<TFloat32> empty = s.constant(org.tensorflow.ndarray.Shape.of(0),
        org.tensorflow.ndarray.buffer.DataBuffers.of(new float[0]));
    FusedBatchNorm<TFloat32, TFloat32> bn = s.nn.fusedBatchNorm(nchw, s.fill(n, scalar(1)), s.fill(n, scalar(0)),
        empty, empty, FusedBatchNorm.epsilon((float) eps), FusedBatchNorm.dataFormat("NCHW"),
        FusedBatchNorm.isTraining(true));
    Operand<TFloat32> normed = addV2(s.math.mul(s.reshape(bn.y(), rowShape), gamma), beta);
    return s.reshape(normed, s.shape(x));
  }

  /** The epsilon _MklLayerNorm falls back to where the remapper drops the attribute (TF 2.9-2.11). */
  static final double FUSED_LAYER_NORM_DEFAULT_EPS = 1e-3;

  /** AddV2, the addition op the remapper's patterns name (TF Java's {@code math.add} emits the older Add). */
  Operand<TFloat32> addV2(Operand<TFloat32> a, Operand<TFloat32> b) {
    return tf.scope().env().opBuilder("AddV2", tf.scope().makeOpName("AddV2"), tf.scope())
        .addInput(a.asOutput()).addInput(b.asOutput()).build().output(0);
  }

  /**
   * nn.BatchNorm2d(dim): in evaluation mode (inference) on the running statistics; in training mode,
   * where the spec says so, on the batch statistics over (B, H, W) with the biased variance, recording
   * the running averages' new values (momentum 0.1, unbiased variance, as PyTorch).
   */
  Operand<TFloat32> batchNorm(Operand<TFloat32> x, String prefix, int dim) {
    NormParams bn = batchNormParams(prefix, dim);
    Operand<TFloat32> gamma = bn.gamma(), beta = bn.beta(), mean = bn.mean(), var = bn.var();
    if (training != null && training.batchStatistics(prefix)) {
      return batchNormTraining(x, prefix, gamma, beta, mean, var);
    }
    // y = x * scale + shift with scale = gamma / sqrt(var + eps), shift = beta - mean * scale
    Operand<TFloat32> scale = tf.math.mul(gamma, tf.math.rsqrt(tf.math.add(var, scalar(RestConfig.BATCH_NORM_EPS))));
    Operand<TFloat32> shift = tf.math.sub(beta, tf.math.mul(mean, scale));
    return tf.nn.biasAdd(tf.math.mul(x, scale), shift);
  }

  /** nn.BatchNorm2d's parameters and running statistics, declared in the official key order. */
  private record NormParams(Operand<TFloat32> gamma, Operand<TFloat32> beta, Operand<TFloat32> mean,
      Operand<TFloat32> var) {}

  private NormParams batchNormParams(String prefix, int dim) {
    return new NormParams(params.add(ParamSpec.vector(prefix + ".weight", ParamKind.NORM_WEIGHT, dim)),
        params.add(ParamSpec.vector(prefix + ".bias", ParamKind.NORM_BIAS, dim)),
        params.add(ParamSpec.vector(prefix + ".running_mean", ParamKind.RUNNING_MEAN, dim)),
        params.add(ParamSpec.vector(prefix + ".running_var", ParamKind.RUNNING_VAR, dim)));
  }

  private Operand<TFloat32> batchNormTraining(Operand<TFloat32> x, String prefix, Operand<TFloat32> gamma,
      Operand<TFloat32> beta, Operand<TFloat32> runningMean, Operand<TFloat32> runningVar) {
    Operand<TInt32> axes = ints(0, 1, 2);
    Operand<TFloat32> mean = tf.math.mean(x, axes, Mean.keepDims(false));
    Operand<TFloat32> centered = tf.math.sub(x, mean);
    Operand<TFloat32> var = tf.math.mean(tf.math.square(centered), axes, Mean.keepDims(false));
    Operand<TFloat32> scale = tf.math.mul(gamma, tf.math.rsqrt(tf.math.add(var, scalar(RestConfig.BATCH_NORM_EPS))));
    Operand<TFloat32> y = tf.nn.biasAdd(tf.math.mul(centered, scale), beta);

    // running statistics, outside the gradient: n / (n - 1) makes the variance unbiased
    double m = RestNetwork.Training.BATCH_NORM_MOMENTUM;
    Operand<TFloat32> n = tf.dtypes.cast(tf.prod(dims(x, 0, 3), ints(0)), TFloat32.class);
    Operand<TFloat32> unbiased = tf.math.mul(tf.stopGradient(var),
        tf.math.div(n, tf.math.maximum(tf.math.sub(n, scalar(1)), scalar(1))));
    bufferUpdates.put(params.keyOf(prefix + ".running_mean"),
        tf.math.add(tf.math.mul(runningMean, scalar(1 - m)), tf.math.mul(tf.stopGradient(mean), scalar(m))));
    bufferUpdates.put(params.keyOf(prefix + ".running_var"),
        tf.math.add(tf.math.mul(runningVar, scalar(1 - m)), tf.math.mul(unbiased, scalar(m))));
    return y;
  }

  /** Training only: {@code branch} times its per-sample keep mask ([B], 0 or 1/keep_prob); as is otherwise. */
  Operand<TFloat32> dropPath(Operand<TFloat32> branch, Operand<TFloat32> keep) {
    if (keep == null) return branch;
    return tf.math.mul(branch, tf.reshape(keep, ints(-1, 1, 1, 1)));
  }

  /** Training only: dropout at {@code rate} (inverted: kept entries scaled by 1/(1-rate)); as is otherwise. */
  Operand<TFloat32> dropout(Operand<TFloat32> x, double rate) {
    if (training == null || !(rate > 0)) return x;
    int site = dropoutSites++;
    Operand<TInt64> seed = tf.math.add(training.dropoutSeed(), tf.constant(new long[] {0, site}));
    Operand<TFloat32> u = tf.random.statelessRandomUniform(tf.shape(x), seed, TFloat32.class);
    float keep = (float) (1 - rate);
    // u in [0, 1): kept when u < keep, i.e. floor(keep + u) == 1 as timm/torch draw it
    Operand<TFloat32> mask = tf.math.floor(tf.math.add(u, tf.constant(keep)));
    return tf.math.mul(tf.math.div(x, tf.constant(keep)), mask);
  }

  /**
   * mmcv's ConvModule as mmseg's heads use it: Conv2d(in, out, k, padding k/2, no bias: a norm follows)
   * → BatchNorm ({@code prefix.bn}, SyncBN in the configs, stored as BN) → ReLU; keys {@code prefix.conv.weight},
   * {@code prefix.bn.*}.
   */
  Operand<TFloat32> convModule(Operand<TFloat32> x, String prefix, int in, int out, int k) {
    return reluAfterConv(convBatchNorm(x, prefix + ".conv", prefix + ".bn", in, out, k, 1, k / 2, false));
  }

  /**
   * F.interpolate(x, size, mode='bilinear', align_corners=False) on NHWC: TF's half-pixel-centre
   * bilinear resize computes the same source coordinates ((o + 0.5)·in/out − 0.5, clamped at 0) and,
   * like PyTorch without antialias, does not low-pass when shrinking.
   */
  Operand<TFloat32> resizeBilinear(Operand<TFloat32> x, Operand<TInt32> size) {
    return tf.image.resizeBilinear(x, size, org.tensorflow.op.image.ResizeBilinear.alignCorners(false),
        org.tensorflow.op.image.ResizeBilinear.halfPixelCenters(true));
  }

  /**
   * nn.AdaptiveAvgPool2d(s) on NHWC of any (dynamic) H, W: output cell (i, j) averages rows
   * [⌊i·H/s⌋, ⌈(i+1)·H/s⌉) and columns likewise (PyTorch's bins: uneven, overlapping when s does not
   * divide H), as two averaging matrices [s, H] and [s, W] applied by Einsum.
   */
  Operand<TFloat32> adaptiveAvgPool(Operand<TFloat32> x, int s) {
    Operand<TFloat32> rows = binAverages(dims(x, 1, 2), s);
    Operand<TFloat32> cols = binAverages(dims(x, 2, 3), s);
    Operand<TFloat32> y = tf.linalg.einsum(List.of(rows, x), "ih,bhwc->biwc");
    return tf.linalg.einsum(List.of(cols, y), "jw,biwc->bijc");
  }

  /** [s, n]: row i is 1/count on PyTorch's adaptive-pooling bin i of a length-n axis, 0 elsewhere. */
  private Operand<TFloat32> binAverages(Operand<TInt32> n1, int s) {
    Operand<TInt32> n = tf.reshape(n1, ints()); // scalar
    Operand<TInt32> i = tf.range(tf.constant(0), tf.constant(s), tf.constant(1));
    Operand<TInt32> start = tf.math.floorDiv(tf.math.mul(i, n), tf.constant(s));
    Operand<TInt32> end = tf.math.floorDiv(tf.math.add(tf.math.mul(tf.math.add(i, tf.constant(1)), n), tf.constant(s - 1)),
        tf.constant(s));
    Operand<TInt32> h = tf.reshape(tf.range(tf.constant(0), n, tf.constant(1)), ints(1, -1));
    Operand<TInt32> st = tf.reshape(start, ints(-1, 1));
    Operand<TInt32> en = tf.reshape(end, ints(-1, 1));
    Operand<TFloat32> inBin = tf.dtypes.cast(tf.math.logicalAnd(tf.math.greaterEqual(h, st), tf.math.less(h, en)),
        TFloat32.class);
    return tf.math.div(inBin, tf.dtypes.cast(tf.math.sub(en, st), TFloat32.class));
  }

  /**
   * The position encoding after the stem and each patch embedding ({@code position_encoding}): pixel
   * attention (official), the official code's GL x + dwconv3×3(x), or none.
   */
  Operand<TFloat32> positionEncoding(Operand<TFloat32> x, String prefix, int dim) {
    return switch (config.positionEncoding()) {
      case PA -> pixelAttention(x, prefix, dim);
      case GL -> addV2(x, depthwise(x, prefix + ".gl_conv", dim, 1, 3, 1, 1));
      case NONE -> x;
    };
  }

  /** nn.Upsample(scale_factor=r, mode='nearest') on NHWC: each pixel repeated r×r (source ⌊o / r⌋). */
  Operand<TFloat32> upsampleNearest(Operand<TFloat32> x, int r) {
    if (r == 1) return x;
    Operand<TInt32> shape = tf.shape(x);
    Operand<TInt32> b = dims(x, 0, 1), h = dims(x, 1, 2), w = dims(x, 2, 3), c = dims(x, 3, 4);
    Operand<TFloat32> y = tf.reshape(x, concat(b, h, ints(1), w, ints(1), c));
    y = tf.broadcastTo(y, concat(b, h, ints(r), w, ints(r), c));
    return tf.reshape(y, concat(b, tf.math.mul(dims(x, 1, 3), ints(r, r)), tf.stridedSlice(shape, Indices.slice(3, 4))));
  }

  /** nn.Upsample(scale_factor=r, mode='bilinear', align_corners=False) on NHWC. */
  Operand<TFloat32> upsampleBilinear(Operand<TFloat32> x, int r) {
    if (r == 1) return x;
    return resizeBilinear(x, tf.math.mul(dims(x, 1, 3), ints(r, r)));
  }

  /**
   * Window attention: x [B,H,W,C] padded at the bottom and right with zeros to multiples of the window
   * (side {@code ws}, or the whole axis where it is shorter), cut into windows [B·n, wh, ww, C], each
   * through {@code fn} as a batch of its own, put back and cropped to H×W. Returns fn's output and the
   * function that puts any per-window tensor of x's window shape back (for the branch probes).
   */
  Windowed windowed(Operand<TFloat32> x, int ws, java.util.function.UnaryOperator<Operand<TFloat32>> fn) {
    Operand<TInt32> h = tf.reshape(dims(x, 1, 2), ints()), w = tf.reshape(dims(x, 2, 3), ints());
    Operand<TInt32> wh = tf.math.minimum(h, tf.constant(ws)), ww = tf.math.minimum(w, tf.constant(ws));
    Operand<TInt32> padH = tf.math.floorMod(tf.math.sub(wh, tf.math.floorMod(h, wh)), wh);
    Operand<TInt32> padW = tf.math.floorMod(tf.math.sub(ww, tf.math.floorMod(w, ww)), ww);
    Operand<TInt32> zero = tf.constant(0);
    Operand<TInt32> paddings = tf.reshape(tf.stack(List.of(zero, zero, zero, padH, zero, padW, zero, zero)), ints(4, 2));
    Operand<TFloat32> padded = tf.pad(x, paddings, tf.constant(0f));
    Operand<TInt32> nh = tf.math.div(tf.math.add(h, padH), wh), nw = tf.math.div(tf.math.add(w, padW), ww);
    Operand<TInt32> b = dims(x, 0, 1), c = dims(x, 3, 4);
    Operand<TFloat32> parts = tf.reshape(padded, concat(b, tf.stack(List.of(nh, wh, nw, ww)), c));
    parts = tf.reshape(transpose(parts, 0, 1, 3, 2, 4, 5), concat(ints(-1), tf.stack(List.of(wh, ww)), c));
    Operand<TFloat32> out = fn.apply(parts);
    java.util.function.UnaryOperator<Operand<TFloat32>> merge = y -> {
      Operand<TInt32> yc = dims(y, 3, 4);
      Operand<TFloat32> m = tf.reshape(y, concat(b, tf.stack(List.of(nh, nw, wh, ww)), yc));
      m = tf.reshape(transpose(m, 0, 1, 3, 2, 4, 5),
          concat(b, tf.stack(List.of(tf.math.add(h, padH), tf.math.add(w, padW))), yc));
      return tf.slice(m, tf.constant(new int[] {0, 0, 0, 0}), concat(ints(-1), tf.stack(List.of(h, w)), ints(-1)));
    };
    return new Windowed(merge.apply(out), merge);
  }

  /** A windowed computation's output, merged and cropped, and the merge for other per-window tensors. */
  record Windowed(Operand<TFloat32> output, java.util.function.UnaryOperator<Operand<TFloat32>> merge) {}

  /** Pixel attention PA(x) = x · sigmoid(depthwise conv3×3(x) + b). */
  Operand<TFloat32> pixelAttention(Operand<TFloat32> x, String prefix, int dim) {
    Operand<TFloat32> gate = tf.math.sigmoid(depthwise(x, prefix + ".pa_conv", dim, 1, 3, 1, 1));
    return tf.math.mul(x, gate);
  }

  /**
   * Exact GELU, x · ((erf(x / √2) + 1) · 0.5), as nn.GELU(): the op order of the remapper's MatMul +
   * BiasAdd + GeluExact pattern, so after a linear layer's MatMul + BiasAdd it fuses into one kernel.
   */
  Operand<TFloat32> gelu(Operand<TFloat32> x) {
    Operand<TFloat32> erf = tf.math.erf(tf.math.mul(x, scalar(1 / Math.sqrt(2))));
    return tf.math.mul(tf.math.mul(addV2(erf, scalar(1)), scalar(0.5)), x);
  }

  /** fc1 → GELU → fc2 on a [-1, dim] view: MatMul, BiasAdd and GELU adjacent, for the remapper to fuse. */
  Operand<TFloat32> mlp(Operand<TFloat32> x, String prefix, int dim, int hidden) {
    // not with bfloat16 weight copies: there the split was measured slower (bench/PROFILE.md)
    return mlp(x, prefix, dim, hidden, training == null && !params.hasBf16Copies() ? splitMlpRows(dim, hidden) : null);
  }

  /** {@link #mlp} never split by rows (for a band of rows already split off). */
  Operand<TFloat32> mlpWhole(Operand<TFloat32> x, String prefix, int dim, int hidden) {
    return mlp(x, prefix, dim, hidden, null);
  }

  private Operand<TFloat32> mlp(Operand<TFloat32> x, String prefix, int dim, int hidden, long[] band) {
    Operand<TFloat32> rows = tf.reshape(x, ints(-1, dim));
    if (band == null) {
      Operand<TFloat32> h = gelu(dense(rows, prefix + ".fc1", dim, hidden, true));
      h = dropout(h, dropRate());
      Operand<TFloat32> y = dropout(dense(h, prefix + ".fc2", hidden, dim, true), dropRate());
      return tf.reshape(y, tf.shape(x));
    }
    // Inference only: the row count decides at run time between the MLP on all rows and on two halves.
    LinearParams fc1 = linearParams(prefix + ".fc1", dim, hidden, true);
    LinearParams fc2 = linearParams(prefix + ".fc2", hidden, dim, true);
    java.util.function.Function<Operand<TFloat32>, Operand<TFloat32>> fc1Fc2 = r -> fc2.apply(gelu(fc1.apply(r)));

    Operand<TInt64> n = tf.stridedSlice(tf.shape(rows, TInt64.class), Indices.at(0));
    Operand<TBool> split = tf.math.logicalAnd(tf.math.greaterEqual(n, tf.constant(band[0])),
        tf.math.less(n, tf.constant(band[1])));
    SwitchCond<TFloat32> byRows = tf.switchCond(rows, split);
    Operand<TFloat32> whole = fc1Fc2.apply(byRows.outputFalse());
    // rows [0, n/2) and [n/2, n): views of one buffer (a split along axis 0 copies nothing)
    Operand<TInt64> firstHalf = tf.math.floorDiv(n, tf.constant(2L));
    SplitV<TFloat32> halves = tf.withSubScope(prefix).withName(SPLIT_MLP_OP).splitV(byRows.outputTrue(),
        tf.stack(List.of(firstHalf, tf.math.sub(n, firstHalf))), tf.constant(0), 2L);
    Operand<TFloat32> joined = tf.concat(List.of(fc1Fc2.apply(halves.output().get(0)),
        fc1Fc2.apply(halves.output().get(1))), tf.constant(0));
    Operand<TFloat32> y = tf.merge(List.of(whole, joined)).output();
    return tf.reshape(y, tf.shape(x));
  }

  /**
   * oneDNN in this TF runs a MatMul on one thread when its operands and result fit in L2
   * ({@code ExecuteSingleThreadedGemm}: 4·(m·n + k·(m + n)) bytes under 1.01 × Eigen's L2 size, 2 MiB per
   * core on this Intel Xeon), whatever the intra-op pool holds. rest_lite's and rest_small's stage 3 at
   * batch 1, 224² (196 tokens, 256 → 1024 → 256) falls under it in every fc1 and fc2, and the second core
   * sits idle. Such an MLP runs better on two halves of its rows, joined: each half still gets one thread, but
   * the executor runs the two at once on its two inter-op threads. Row by row the arithmetic is unchanged.
   * Where the rule does not hold the MLP is left whole (bench/PROFILE.md).
   *
   * @return the row counts [from, to) for which fc1 falls under the rule and is worth a second core
   *     (at least {@value #SPLIT_MLP_MIN_MACS} multiply-adds), or null if none does or it is switched off
   */
  static long[] splitMlpRows(int dim, int hidden) {
    if (!splitMlpEnabled()) return null;
    long from = (SPLIT_MLP_MIN_MACS + (long) dim * hidden - 1) / ((long) dim * hidden);
    long free = SINGLE_THREAD_GEMM_BYTES / 4 - (long) dim * hidden; // m·(hidden + dim) must stay below this
    if (free <= 0) return null;
    long to = (free + hidden + dim - 1) / (hidden + dim); // smallest m with m·(hidden + dim) ≥ free
    return from < to ? new long[] {from, to} : null;
  }

  static final long SINGLE_THREAD_GEMM_BYTES = 2L * 1024 * 1024;
  static final long SPLIT_MLP_MIN_MACS = 16L << 20;
  /** System property: "false" builds every inference MLP unsplit (for comparisons); default "true". */
  static final String SPLIT_MLP_PROPERTY = "resttf.splitMlp";
  static final String SPLIT_MLP_OP = RestNetwork.MLP_ROWS_SPLIT_OP;

  /** System property: whether inference blocks run on two bands of rows at batch 1 (true, false, auto). */
  static final String SPLIT_BLOCKS_PROPERTY = "resttf.splitBlocks";

  /**
   * Whether inference graphs build their blocks (not windowed) a second time on two bands of rows for runs of one
   * image (RestNetwork#blockOnHalvesAtBatch1). That pays only when each band gets a core of its own, i.e. when
   * ops run on one thread each: "auto" (the default) builds them then ({@link ThreadPools#oneIntraOpThread}); with
   * TF's default pools the two bands' ops share both threads and the split costs ~3 % (bench/PROFILE.md).
   * RestNetwork#buildingWithBands overrides it on its thread.
   */
  static boolean splitBlocks() {
    Boolean forced = RestNetwork.BANDS_ON_THIS_THREAD.get();
    if (forced != null) return forced;
    String v = System.getProperty(SPLIT_BLOCKS_PROPERTY, "auto");
    if (v.equals("auto")) return ThreadPools.oneIntraOpThread();
    if (v.equals("true") || v.equals("false")) return v.equals("true");
    throw new io.resttf.tensor.BadInputException("system property " + SPLIT_BLOCKS_PROPERTY
        + " must be true, false or auto, not '" + v + "'");
  }

  /**
   * System property, read where blocks run on bands ({@link #splitBlocks}): "true" (default) runs convolutions of at
   * least {@value #SPLIT_CONV_MIN_MACS_PER_PIXEL} multiply-adds per output pixel on bands of rows when a run's
   * convolution has at least {@value #SPLIT_CONV_MIN_MACS}; "all" every convolution (k > 1) of two output rows or
   * more (tests: the narrow parity models' convolutions are all small); "false" none (comparisons).
   */
  static final String SPLIT_CONVS_PROPERTY = "resttf.splitConvs";
  /** Name of the op that cuts a convolution's top band of rows out of its padded input, in a run's step stats. */
  static final String CONV_ROWS_SPLIT_OP = RestNetwork.CONV_ROWS_SPLIT_OP;

  /**
   * Multiply-adds per output pixel below which a convolution stays whole on bands: the stem's first (3 input
   * channels, 1,296 per pixel) computes less per row than joining the bands copies (traced: its 112² join took
   * longer than both bands).
   */
  static final long SPLIT_CONV_MIN_MACS_PER_PIXEL = 4096;
  static final long SPLIT_CONV_MIN_MACS = 33_554_432; // 32 M

  static String convBands() {
    String v = System.getProperty(SPLIT_CONVS_PROPERTY, "true");
    if (v.equals("true") || v.equals("false") || v.equals("all")) return v;
    throw new io.resttf.tensor.BadInputException("system property " + SPLIT_CONVS_PROPERTY
        + " must be true, false or all, not '" + v + "'");
  }

  static boolean splitMlpEnabled() {
    return booleanProperty(SPLIT_MLP_PROPERTY, true);
  }

  /** Dropout rate after the MLP activation, fc2 and the attention projection (0 for inference). */
  double dropRate() {
    return training == null ? 0 : training.dropRate();
  }

  /** Dropout rate on the attention map (0 for inference). */
  double attnDropRate() {
    return training == null ? 0 : training.attnDropRate();
  }

  /**
   * PixelShuffle(r) on NHWC. PyTorch orders the r²·C input channels as (c, i, j); TF's DepthToSpace
   * orders them (i, j, c), so it is written out: [B,h,w,C,r,r] → (0,1,4,2,5,3) → [B,h·r,w·r,C].
   */
  Operand<TFloat32> pixelShuffle(Operand<TFloat32> x, int channels, int r) {
    if (r == 1) return x;
    Operand<TInt32> bhw = dims(x, 0, 3);
    Operand<TFloat32> y = tf.reshape(x, concat(bhw, ints(channels, r, r)));
    y = transpose(y, 0, 1, 4, 2, 5, 3);
    Operand<TInt32> b = dims(x, 0, 1);
    Operand<TInt32> hr = tf.math.mul(dims(x, 1, 3), ints(r, r));
    return tf.reshape(y, concat(b, hr, ints(channels)));
  }

  /** [B, heads, L, hd] from tokens [B, h, w, C] whose channels are ordered (head, head_dim). */
  Operand<TFloat32> splitHeads(Operand<TFloat32> x, Operand<TInt32> batch, int heads, int headDim) {
    // one head: [B, L, 1, hd] → [B, 1, L, hd] moves no data, a reshape says so without a Transpose
    if (heads == 1) return reshapeKeepBatch(x, batch, 1, -1, headDim);
    return transpose(reshapeKeepBatch(x, batch, -1, heads, headDim), 0, 2, 1, 3);
  }

  /** Tokens shaped like {@code like} [B, h, w, C] from [B, heads, L, hd] (the inverse of {@link #splitHeads}). */
  Operand<TFloat32> mergeHeads(Operand<TFloat32> x, Operand<TFloat32> like, int heads) {
    return tf.reshape(heads == 1 ? x : transpose(x, 0, 2, 1, 3), tf.shape(like));
  }
}
