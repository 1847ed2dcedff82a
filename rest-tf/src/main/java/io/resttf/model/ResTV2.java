package io.resttf.model;

import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * ResTv2, after the official models/rest_v2.py: a conv stem and patch embeddings followed by pixel
 * attention and LayerNorm, and attention without head interaction but with an upsample branch that
 * restores the information the spatial reduction dropped (V → depthwise conv → PixelShuffle → LN).
 */
final class ResTV2 implements Architecture {
  private final Nn nn;
  private final RestConfig c;
  private final SpatialReductionAttention attention;

  ResTV2(Nn nn) {
    this.nn = nn;
    this.c = nn.config;
    this.attention = new SpatialReductionAttention(nn, true);
  }

  /** conv3×3 s2 → BN → ReLU → conv3×3 s2 → BN → ReLU → conv1×1 (bias) → PA → LN. */
  @Override
  public Operand<TFloat32> stem(Operand<TFloat32> x) {
    int dim = c.dim(0), hidden = dim / 2;
    Operand<TFloat32> y = nn.reluAfterConv(nn.convBatchNorm(x, "stem.proj.0", "stem.proj.1", c.inChans(), hidden, 3, 2, 1, false));
    y = nn.reluAfterConv(nn.convBatchNorm(y, "stem.proj.3", "stem.proj.4", hidden, dim, 3, 2, 1, false));
    y = nn.conv(y, "stem.proj.6", dim, dim, 1, 1, 0, true);
    y = nn.positionEncoding(y, "stem.pos", dim);
    return nn.layerNorm(y, "stem.norm", dim);
  }

  /** conv3×3 s2 (bias) → PA → LN. */
  @Override
  public Operand<TFloat32> patchEmbed(Operand<TFloat32> x, int stage) {
    String p = "patch_" + (stage + 1);
    int dim = c.dim(stage);
    Operand<TFloat32> y = nn.conv(x, p + ".proj", c.dim(stage - 1), dim, 3, 2, 1, true);
    y = nn.positionEncoding(y, p + ".pos", dim);
    return nn.layerNorm(y, p + ".norm", dim);
  }

  @Override
  public Operand<TFloat32> attention(Operand<TFloat32> x, String prefix, int stage) {
    return attention.apply(x, prefix, stage);
  }

  @Override
  public SpatialReductionAttention attentionModule() {
    return attention;
  }

  @Override
  public java.util.Map<String, RestNetwork.Branches> branches() {
    return attention.branches;
  }
}
