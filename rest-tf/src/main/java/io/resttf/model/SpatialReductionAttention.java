package io.resttf.model;

import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The efficient multi-head self-attention both families share (one class with a hook per family
 * difference, as timm's pvt_v2 keeps one Attention): q from the tokens; k and v from the tokens reduced
 * by a strided depthwise conv + LayerNorm when the stage's sr ratio is > 1; scaled scores q·kᵀ; weights;
 * weights · v; heads merged; output projection. The hooks: {@link #weigh} (softmax; ResT's head
 * interaction) and {@link #beforeProjection} (nothing; ResTv2's upsample branch).
 */
class SpatialReductionAttention {
  /** Attention weights [B, heads, N, M] and the values [B, heads, M, hd] they weight. */
  record Weighted(Operand<TFloat32> weights, Operand<TFloat32> values) {}

  final Nn nn;
  final RestConfig c;
  private final boolean qkvBias;

  SpatialReductionAttention(Nn nn, boolean qkvBias) {
    this.nn = nn;
    this.c = nn.config;
    this.qkvBias = qkvBias;
  }

  /** Attention on tokens x [B, h, w, C]; {@code prefix} = "stageN.i.attn". */
  final Operand<TFloat32> apply(Operand<TFloat32> x, String prefix, int stage) {
    int dim = c.dim(stage), heads = c.heads(stage), hd = dim / heads, sr = c.srRatio(stage);
    Operand<TInt32> batch = nn.dims(x, 0, 1);
    Operand<TFloat32> q = nn.splitHeads(nn.linear(x, prefix + ".q", dim, dim, qkvBias), batch, heads, hd);
    Operand<TFloat32> reduced = x;
    if (sr > 1) {
      reduced = nn.depthwise(x, prefix + ".sr", dim, 1, sr + 1, sr, sr / 2);
      reduced = nn.layerNorm(reduced, prefix + ".sr_norm", dim);
    }
    var kv = nn.splitLast(nn.linear(reduced, prefix + ".kv", dim, 2 * dim, qkvBias), 2);
    Operand<TFloat32> k = nn.splitHeads(kv.get(0), batch, heads, hd);
    Operand<TFloat32> vGrid = kv.get(1); // [B, h', w', C] on the reduced grid, channels (head, head_dim)
    Operand<TFloat32> v = nn.splitHeads(vGrid, batch, heads, hd);

    // [B, heads, N, M]; scaling q before the product equals scaling the product
    Operand<TFloat32> scores = nn.matmul(nn.tf.math.mul(q, nn.scalar(Math.pow(hd, -0.5))), k, false, true);
    Weighted w = weigh(scores, v, prefix, stage);
    Operand<TFloat32> attn = nn.dropout(w.weights(), nn.attnDropRate());
    Operand<TFloat32> out = nn.matmul(attn, w.values(), false, false); // [B, heads, N, hd]
    out = nn.mergeHeads(out, x, heads);
    out = beforeProjection(out, vGrid, prefix, stage);
    return nn.dropout(nn.linear(out, prefix + ".proj", dim, dim, true), nn.dropRate());
  }

  /** Scores [B, heads, N, M] → attention weights, and the values to weight: softmax and v as they are. */
  Weighted weigh(Operand<TFloat32> scores, Operand<TFloat32> v, String prefix, int stage) {
    return new Weighted(nn.tf.nn.softmax(scores), v);
  }

  /** The merged heads' output [B, h, w, C] as it enters the projection; {@code vGrid}: V on the reduced grid. */
  Operand<TFloat32> beforeProjection(Operand<TFloat32> out, Operand<TFloat32> vGrid, String prefix, int stage) {
    return out;
  }
}
