package io.resttf.model;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.op.core.Max;
import org.tensorflow.op.core.Sum;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The efficient multi-head self-attention of both families, one class with a branch per option of the
 * papers' design space (as timm's pvt_v2 keeps one Attention): q from the tokens; k and v from the tokens
 * reduced ({@code reduction}: strided depthwise conv, average or max pooling; then LayerNorm) when the
 * stage's sr ratio is > 1; scaled scores q·kᵀ; softmax, or the heads' interaction ({@code apply_transform});
 * weights · v; heads merged; then ResTv2's upsample branch ({@code upsample} of {@code upsample_target})
 * added; output projection. {@code attention=false} keeps the reduction and the upsample branch only.
 */
final class SpatialReductionAttention {
  /** Attention weights [B, heads, N, M] and the values [B, heads, M, hd] they weight. */
  record Weighted(Operand<TFloat32> weights, Operand<TFloat32> values) {}

  private final Nn nn;
  private final RestConfig c;
  private final boolean qkvBias;
  /** The branches of every block built so far, by its prefix ("stageN.i.attn"). */
  final Map<String, RestNetwork.Branches> branches = new LinkedHashMap<>();

  SpatialReductionAttention(Nn nn, boolean qkvBias) {
    this.nn = nn;
    this.c = nn.config;
    this.qkvBias = qkvBias;
  }

  /** Attention on tokens x [B, h, w, C]; {@code prefix} = "stageN.i.attn". */
  Operand<TFloat32> apply(Operand<TFloat32> x, String prefix, int stage) {
    Nn.LinearParams q = queryParams(prefix, stage);
    Context context = context(x, prefix, stage);
    Rows rows = rows(x, q, context, context.up(), prefix, stage);
    branches.put(prefix, new RestNetwork.Branches(rows.attended(), context.up(), rows.sum()));
    return rows.projected();
  }

  /**
   * What every query row shares, computed from all the tokens: k and v by head [B, heads, M, hd] (null
   * without attention) and the upsample branch [B, h, w, C] (null without one).
   */
  record Context(Operand<TFloat32> k, Operand<TFloat32> v, Operand<TFloat32> up) {}

  /** One set of query rows' results: the attention branch, attention + upsample, and that projected. */
  record Rows(Operand<TFloat32> attended, Operand<TFloat32> sum, Operand<TFloat32> projected) {}

  /** The q projection's parameters (declared first, as the official module does); null without attention. */
  Nn.LinearParams queryParams(String prefix, int stage) {
    int dim = c.dim(stage);
    return c.attention() ? nn.linearParams(prefix + ".q", dim, dim, qkvBias) : null;
  }

  /** The keys, values and upsample branch of the tokens x [B, h, w, C]. */
  Context context(Operand<TFloat32> x, String prefix, int stage) {
    int dim = c.dim(stage), heads = c.heads(stage), hd = dim / heads, sr = c.srRatio(stage);
    Operand<TInt32> batch = nn.dims(x, 0, 1);
    Operand<TFloat32> k = null, v = null, kGrid = null, vGrid = null;
    Operand<TFloat32> reduced = sr > 1 ? reduce(x, prefix, dim, sr) : x;
    if (c.attention()) {
      var kv = nn.splitLast(nn.linear(reduced, prefix + ".kv", dim, 2 * dim, qkvBias), 2);
      kGrid = kv.get(0); // [B, h', w', C] on the reduced grid, channels (head, head_dim)
      vGrid = kv.get(1);
      k = nn.splitHeads(kGrid, batch, heads, hd);
      v = nn.splitHeads(vGrid, batch, heads, hd);
    } else if (c.upsampleTarget() == DesignSpace.UpsampleTarget.V) {
      vGrid = nn.linear(reduced, prefix + ".v", dim, dim, true); // the V projection alone
    }
    Operand<TFloat32> up = null;
    if (c.upsample() != DesignSpace.Upsample.NONE) {
      Operand<TFloat32> target = switch (c.upsampleTarget()) {
        case X -> reduced;
        case K -> kGrid;
        case V -> vGrid;
      };
      up = upsample(target, prefix, dim, sr);
    }
    return new Context(k, v, up);
  }

  /**
   * Attention for the query rows x [B, h, w, C] (all tokens, or a band of rows of them when the heads do not
   * interact), given the shared {@code context} and the matching rows {@code up} of its upsample branch;
   * then the output projection.
   */
  Rows rows(Operand<TFloat32> x, Nn.LinearParams q, Context context, Operand<TFloat32> up, String prefix, int stage) {
    int dim = c.dim(stage), heads = c.heads(stage);
    Operand<TFloat32> attended = null;
    if (c.attention()) {
      Weighted w = weigh(scores(x, q, context, stage), context.v(), prefix, stage);
      Operand<TFloat32> attn = nn.dropout(w.weights(), nn.attnDropRate());
      attended = nn.mergeHeads(nn.matmul(attn, w.values(), false, false), x, heads); // [B, h, w, C]
    }
    Operand<TFloat32> out = attended == null ? up : up == null ? attended : nn.tf.math.add(attended, up);
    return new Rows(attended, out, nn.dropout(nn.linear(out, prefix + ".proj", dim, dim, true), nn.dropRate()));
  }

  /** Scaled scores q·kᵀ [B, heads, N, M] of the query rows x against the context's keys. */
  private Operand<TFloat32> scores(Operand<TFloat32> x, Nn.LinearParams q, Context context, int stage) {
    int dim = c.dim(stage), heads = c.heads(stage), hd = dim / heads;
    Operand<TFloat32> qh = nn.splitHeads(nn.linear(x, q, dim, dim), nn.dims(x, 0, 1), heads, hd);
    // scaling q before the product equals scaling the product
    return nn.matmul(nn.tf.math.mul(qh, nn.scalar(Math.pow(hd, -0.5))), context.k(), false, true);
  }

  /**
   * {@link #rows} for bands of the query rows xs (each [B, h_i, w, C], together all the tokens, in order), with
   * their rows {@code ups} of the upsample branch (null without one). Without head interaction each band is
   * {@link #rows} on its own. With it (ResT v1's transform_conv → softmax → InstanceNorm), the norm's mean and
   * variance run over every query row of a head: each band mixes its scores and takes its softmax, the bands'
   * sums give the mean, then their sums of squared deviations the variance, and each band normalises and
   * weights v with those — as the whole map would, up to the order of the sums.
   */
  List<Rows> bandRows(List<Operand<TFloat32>> xs, Nn.LinearParams q, Context context, List<Operand<TFloat32>> ups,
      String prefix, int stage) {
    if (!c.headInteraction(stage)) {
      List<Rows> out = new java.util.ArrayList<>();
      for (int i = 0; i < xs.size(); i++) out.add(rows(xs.get(i), q, context, ups == null ? null : ups.get(i), prefix, stage));
      return out;
    }
    int dim = c.dim(stage), heads = c.heads(stage);
    Operand<TInt32> axes = nn.ints(2, 3);
    List<Operand<TFloat32>> maps = new java.util.ArrayList<>();
    List<Operand<TFloat32>> sums = new java.util.ArrayList<>();
    List<Operand<TFloat32>> counts = new java.util.ArrayList<>();
    for (Operand<TFloat32> x : xs) {
      Operand<TFloat32> a = nn.tf.nn.softmax(mixHeads(scores(x, q, context, stage), prefix, heads));
      maps.add(a);
      sums.add(nn.tf.sum(a, axes, Sum.keepDims(true)));
      counts.add(nn.tf.dtypes.cast(nn.tf.math.mul(nn.dims(a, 2, 3), nn.dims(a, 3, 4)), TFloat32.class));
    }
    Operand<TFloat32> n = nn.tf.math.addN(counts);
    Operand<TFloat32> mean = nn.tf.math.div(nn.tf.math.addN(sums), n);
    List<Operand<TFloat32>> centered = new java.util.ArrayList<>();
    List<Operand<TFloat32>> squares = new java.util.ArrayList<>();
    for (Operand<TFloat32> a : maps) {
      Operand<TFloat32> d = nn.tf.math.sub(a, mean);
      centered.add(d);
      squares.add(nn.tf.sum(nn.tf.math.square(d), axes, Sum.keepDims(true)));
    }
    Operand<TFloat32> inv = nn.tf.math.rsqrt(nn.tf.math.add(nn.tf.math.div(nn.tf.math.addN(squares), n),
        nn.scalar(RestConfig.INSTANCE_NORM_EPS)));
    List<Rows> out = new java.util.ArrayList<>();
    for (int i = 0; i < xs.size(); i++) {
      Operand<TFloat32> attended = nn.mergeHeads(nn.matmul(nn.tf.math.mul(centered.get(i), inv), context.v(), false, false),
          xs.get(i), heads);
      Operand<TFloat32> up = ups == null ? null : ups.get(i);
      Operand<TFloat32> sum = up == null ? attended : nn.tf.math.add(attended, up);
      out.add(new Rows(attended, sum, nn.linear(sum, prefix + ".proj", dim, dim, true)));
    }
    return out;
  }

  /** x [B, h, w, C] → [B, h/sr, w/sr, C]: kernel sr+1, stride sr, padding sr/2, then LayerNorm {@code sr_norm}. */
  private Operand<TFloat32> reduce(Operand<TFloat32> x, String prefix, int dim, int sr) {
    int k = sr + 1, p = sr / 2;
    List<Long> window = List.of(1L, (long) k, (long) k, 1L), strides = List.of(1L, (long) sr, (long) sr, 1L);
    Operand<TFloat32> y = switch (c.reduction()) {
      case DWCONV -> nn.depthwise(x, prefix + ".sr", dim, 1, k, sr, p);
      // zero padding counted in the mean: nn.AvgPool2d's count_include_pad=True
      case AVG -> nn.tf.nn.avgPool(nn.pad(x, p), window, strides, "VALID");
      // nn.MaxPool2d pads with -inf: the padding never wins (every window holds a real pixel)
      case MAX -> nn.tf.nn.maxPool(nn.pad(x, p, Float.NEGATIVE_INFINITY), nn.ints(1, k, k, 1), nn.ints(1, sr, sr, 1),
          "VALID");
    };
    return nn.layerNorm(y, prefix + ".sr_norm", dim);
  }

  /**
   * ResTv2's upsample branch on a reduced grid [B, h', w', C] → [B, h'·sr, w'·sr, C]: the official
   * dwconv3×3 C → sr²·C + PixelShuffle(sr), or dwconv3×3 C → C + nearest / bilinear ×sr; then LayerNorm.
   */
  private Operand<TFloat32> upsample(Operand<TFloat32> grid, String prefix, int dim, int sr) {
    Operand<TFloat32> y = switch (c.upsample()) {
      case PIXEL_SHUFFLE -> nn.pixelShuffle(nn.depthwise(grid, prefix + ".up.0", dim, sr * sr, 3, 1, 1), dim, sr);
      case NEAREST -> nn.upsampleNearest(nn.depthwise(grid, prefix + ".up.0", dim, 1, 3, 1, 1), sr);
      case BILINEAR -> nn.upsampleBilinear(nn.depthwise(grid, prefix + ".up.0", dim, 1, 3, 1, 1), sr);
      case NONE -> throw new IllegalStateException("no upsample branch");
    };
    return nn.layerNorm(y, prefix + ".up_norm", dim);
  }

  /** Scores [B, heads, N, M] → attention weights, and the values to weight. */
  private Weighted weigh(Operand<TFloat32> scores, Operand<TFloat32> v, String prefix, int stage) {
    if (!c.headInteraction(stage)) return new Weighted(nn.tf.nn.softmax(scores), v);
    Operand<TFloat32> attn = headInteraction(scores, prefix, c.heads(stage));
    if (nn.training != null) {
      // The normalised map's rows sum to 0, so attn @ v == attn @ (v - mean over tokens of v); in float32
      // the centred form keeps the rows' rounding residue from being multiplied by v's (large) mean.
      v = nn.tf.math.sub(v, nn.tf.math.mean(v, nn.ints(2), Mean.keepDims(true)));
    }
    return new Weighted(attn, v);
  }

  /** transform_conv: a 1×1 conv across the heads of scores [B, heads, N, M], same shape out. */
  private Operand<TFloat32> mixHeads(Operand<TFloat32> attn, String prefix, int heads) {
    ParamSpec spec = ParamSpec.headMix(prefix + ".transform_conv.weight", heads);
    Operand<TFloat32> w = nn.params.add(spec); // [h_in, h_out]
    Operand<TFloat32> b = nn.params.add(ParamSpec.bias(prefix + ".transform_conv.bias", spec, heads));
    Operand<TInt32> shape = nn.tf.shape(attn);
    Operand<TFloat32> flat = nn.reshapeKeepBatch(attn, nn.dims(attn, 0, 1), heads, -1); // [B, h, N·M]
    Operand<TFloat32> wt = nn.tf.reshape(w, nn.ints(1, heads, heads));
    Operand<TFloat32> mixed = nn.matmul(wt, flat, true, false); // [B, h_out, N·M]
    mixed = nn.tf.math.add(mixed, nn.tf.reshape(b, nn.ints(heads, 1)));
    return nn.tf.reshape(mixed, shape);
  }

  /** transform_conv (1×1 conv across heads) → softmax → InstanceNorm2d(heads) without affine. */
  private Operand<TFloat32> headInteraction(Operand<TFloat32> attn, String prefix, int heads) {
    Operand<TFloat32> mixed = mixHeads(attn, prefix, heads);
    Operand<TInt32> axes = nn.ints(2, 3);
    Operand<TFloat32> centered;
    if (nn.training == null) {
      Operand<TFloat32> a = nn.tf.nn.softmax(mixed);
      centered = nn.tf.math.sub(a, nn.tf.math.mean(a, axes, Mean.keepDims(true)));
    } else {
      centered = centredSoftmax(mixed);
    }
    Operand<TFloat32> var = nn.tf.math.mean(nn.tf.math.square(centered), axes, Mean.keepDims(true));
    return nn.tf.math.mul(centered, nn.tf.math.rsqrt(nn.tf.math.add(var, nn.scalar(RestConfig.INSTANCE_NORM_EPS))));
  }

  /**
   * Training graphs: softmax(z) − 1/M over the last axis, which is what the InstanceNorm subtracts (each
   * row of a softmax sums to 1, so the map's mean is 1/M), computed without forming the softmax:
   * with e = exp(z − max) = 1 + u, u = expm1(z − max), softmax − 1/M = (u − mean(u)) / Σe. When the map
   * is nearly uniform (small attention logits), softmax − 1/M in float32 keeps only the few digits the
   * softmax has beyond 1/M, and the InstanceNorm then divides by the map's small spread; the gradients
   * of the V path, which are small, drown in that rounding. expm1 keeps the deviations to full precision.
   * Mathematically identical to the inference graph.
   */
  private Operand<TFloat32> centredSoftmax(Operand<TFloat32> z) {
    Operand<TInt32> last = nn.ints(-1);
    Operand<TFloat32> max = nn.tf.stopGradient(nn.tf.max(z, last, Max.keepDims(true)));
    Operand<TFloat32> u = nn.tf.math.expm1(nn.tf.math.sub(z, max));
    Operand<TFloat32> sum = nn.tf.math.add(nn.tf.sum(u, last, Sum.keepDims(true)),
        nn.tf.dtypes.cast(nn.dims(z, 3, 4), TFloat32.class)); // Σe = Σ(1 + u) = M + Σu
    Operand<TFloat32> dev = nn.tf.math.sub(u, nn.tf.math.mean(u, last, Mean.keepDims(true)));
    return nn.tf.math.div(dev, sum);
  }
}
