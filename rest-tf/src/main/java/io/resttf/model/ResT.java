package io.resttf.model;

import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * ResT (v1), after the official models/rest.py: a BatchNorm conv stem, BatchNorm patch embeddings with
 * a position encoding (pixel attention), and efficient multi-head self-attention whose heads interact
 * (1×1 conv across heads, softmax, InstanceNorm) in stages with more than one head.
 */
final class ResT implements Architecture {
  private final Nn nn;
  private final RestConfig c;
  private final SpatialReductionAttention attention;

  ResT(Nn nn) {
    this.nn = nn;
    this.c = nn.config;
    this.attention = new SpatialReductionAttention(nn, c.qkvBias());
  }

  /** conv3×3 s2 → BN → ReLU → conv3×3 s1 → BN → ReLU → conv3×3 s2 → PA (no bias, no BN after conv3). */
  @Override
  public Operand<TFloat32> stem(Operand<TFloat32> x) {
    int hidden = c.dim(0) / 2;
    Operand<TFloat32> y = nn.reluAfterConv(nn.convBatchNorm(x, "stem.conv1", "stem.norm1", c.inChans(), hidden, 3, 2, 1, false));
    y = nn.reluAfterConv(nn.convBatchNorm(y, "stem.conv2", "stem.norm2", hidden, hidden, 3, 1, 1, false));
    y = nn.conv(y, "stem.conv3", hidden, c.dim(0), 3, 2, 1, false);
    return nn.positionEncoding(y, "stem.pos", c.dim(0));
  }

  /** conv3×3 s2 (bias) → BN → PA. */
  @Override
  public Operand<TFloat32> patchEmbed(Operand<TFloat32> x, int stage) {
    String p = "patch_embed_" + (stage + 1);
    Operand<TFloat32> y = nn.convBatchNorm(x, p + ".conv", p + ".norm", c.dim(stage - 1), c.dim(stage), 3, 2, 1, true);
    return nn.positionEncoding(y, p + ".pos", c.dim(stage));
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
