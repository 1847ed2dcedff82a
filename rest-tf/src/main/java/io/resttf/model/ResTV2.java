package io.resttf.model;

import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * ResTv2, after the official models/rest_v2.py: a conv stem and patch embeddings followed by pixel
 * attention and LayerNorm, and attention without head interaction but with an upsample branch that
 * restores the information the spatial reduction dropped (V → depthwise conv → PixelShuffle → LN).
 */
final class ResTV2 implements Architecture {
  private final Nn nn;
  private final RestConfig c;

  ResTV2(Nn nn) {
    this.nn = nn;
    this.c = nn.config;
  }

  /** conv3×3 s2 → BN → ReLU → conv3×3 s2 → BN → ReLU → conv1×1 (bias) → PA → LN. */
  @Override
  public Operand<TFloat32> stem(Operand<TFloat32> x) {
    int dim = c.dim(0), hidden = dim / 2;
    Operand<TFloat32> y = nn.conv(x, "stem.proj.0", c.inChans(), hidden, 3, 2, 1, false);
    y = nn.tf.nn.relu(nn.batchNorm(y, "stem.proj.1", hidden));
    y = nn.conv(y, "stem.proj.3", hidden, dim, 3, 2, 1, false);
    y = nn.tf.nn.relu(nn.batchNorm(y, "stem.proj.4", dim));
    y = nn.conv(y, "stem.proj.6", dim, dim, 1, 1, 0, true);
    y = nn.pixelAttention(y, "stem.pos", dim);
    return nn.layerNorm(y, "stem.norm", dim);
  }

  /** conv3×3 s2 (bias) → PA → LN. */
  @Override
  public Operand<TFloat32> patchEmbed(Operand<TFloat32> x, int stage) {
    String p = "patch_" + (stage + 1);
    int dim = c.dim(stage);
    Operand<TFloat32> y = nn.conv(x, p + ".proj", c.dim(stage - 1), dim, 3, 2, 1, true);
    y = nn.pixelAttention(y, p + ".pos", dim);
    return nn.layerNorm(y, p + ".norm", dim);
  }

  @Override
  public Operand<TFloat32> attention(Operand<TFloat32> x, String prefix, int stage) {
    int dim = c.dim(stage), heads = c.heads(stage), hd = dim / heads, sr = c.srRatio(stage);
    Operand<TInt32> batch = nn.dims(x, 0, 1);
    Operand<TFloat32> q = nn.splitHeads(nn.linear(x, prefix + ".q", dim, dim, true), batch, heads, hd);
    Operand<TFloat32> reduced = x;
    if (sr > 1) {
      reduced = nn.depthwise(x, prefix + ".sr", dim, 1, sr + 1, sr, sr / 2);
      reduced = nn.layerNorm(reduced, prefix + ".sr_norm", dim);
    }
    var kv = nn.splitLast(nn.linear(reduced, prefix + ".kv", dim, 2 * dim, true), 2);
    Operand<TFloat32> k = nn.splitHeads(kv.get(0), batch, heads, hd);
    Operand<TFloat32> vGrid = kv.get(1); // [B, h, w, C] on the reduced grid, channels (head, head_dim)
    Operand<TFloat32> v = nn.splitHeads(vGrid, batch, heads, hd);

    Operand<TFloat32> attn = nn.matmul(nn.tf.math.mul(q, nn.scalar(Math.pow(hd, -0.5))), k, false, true);
    attn = nn.dropout(nn.tf.nn.softmax(attn), nn.attnDropRate());
    Operand<TFloat32> out = nn.matmul(attn, v, false, false);
    out = nn.mergeHeads(out, x, heads);

    // upsample branch: V on the reduced grid → dwconv3×3 (C → r²C) → PixelShuffle(r) → LN
    Operand<TFloat32> up = nn.depthwise(vGrid, prefix + ".up.0", dim, sr * sr, 3, 1, 1);
    up = nn.layerNorm(nn.pixelShuffle(up, dim, sr), prefix + ".up_norm", dim);
    return nn.dropout(nn.linear(nn.tf.math.add(out, up), prefix + ".proj", dim, dim, true), nn.dropRate());
  }
}
