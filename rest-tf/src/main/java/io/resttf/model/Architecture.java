package io.resttf.model;

import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * What differs between ResT and ResTv2: the stem, the patch embedding between stages, and the
 * attention. Blocks, stages and the head are shared ({@link RestNetwork}).
 */
interface Architecture {
  /** Input [B,H,W,in_chans] → tokens [B,H/4,W/4,dims[0]]. */
  Operand<TFloat32> stem(Operand<TFloat32> x);

  /** Tokens of stage {@code stage-1} → tokens of {@code stage} (1..3) at half resolution. */
  Operand<TFloat32> patchEmbed(Operand<TFloat32> x, int stage);

  /** Multi-head attention with spatial reduction on tokens [B,H,W,C]; {@code prefix} = "stageN.i.attn". */
  Operand<TFloat32> attention(Operand<TFloat32> x, String prefix, int stage);

  /** The attention module itself, for building a block's attention on bands of its query rows. */
  SpatialReductionAttention attentionModule();

  /** What entered each block's projection, by block prefix ("stageN.i.attn"), for the blocks built so far. */
  java.util.Map<String, RestNetwork.Branches> branches();

  static Architecture of(Nn nn) {
    return nn.config.family() == Family.V1 ? new ResT(nn) : new ResTV2(nn);
  }
}
