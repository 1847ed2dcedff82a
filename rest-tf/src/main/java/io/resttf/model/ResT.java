package io.resttf.model;

import org.tensorflow.Operand;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * ResT (v1), after the official models/rest.py: a BatchNorm conv stem, BatchNorm patch embeddings with
 * pixel attention, and efficient multi-head self-attention whose heads interact (1×1 conv across heads,
 * softmax, InstanceNorm) in stages with more than one head.
 */
final class ResT implements Architecture {
  private final Nn nn;
  private final RestConfig c;
  private final SpatialReductionAttention attention;

  ResT(Nn nn) {
    this.nn = nn;
    this.c = nn.config;
    this.attention = new HeadInteractionAttention();
  }

  /** conv3×3 s2 → BN → ReLU → conv3×3 s1 → BN → ReLU → conv3×3 s2 → PA (no bias, no BN after conv3). */
  @Override
  public Operand<TFloat32> stem(Operand<TFloat32> x) {
    int hidden = c.dim(0) / 2;
    Operand<TFloat32> y = nn.conv(x, "stem.conv1", c.inChans(), hidden, 3, 2, 1, false);
    y = nn.tf.nn.relu(nn.batchNorm(y, "stem.norm1", hidden));
    y = nn.conv(y, "stem.conv2", hidden, hidden, 3, 1, 1, false);
    y = nn.tf.nn.relu(nn.batchNorm(y, "stem.norm2", hidden));
    y = nn.conv(y, "stem.conv3", hidden, c.dim(0), 3, 2, 1, false);
    return nn.pixelAttention(y, "stem.pos", c.dim(0));
  }

  /** conv3×3 s2 (bias) → BN → PA. */
  @Override
  public Operand<TFloat32> patchEmbed(Operand<TFloat32> x, int stage) {
    String p = "patch_embed_" + (stage + 1);
    Operand<TFloat32> y = nn.conv(x, p + ".conv", c.dim(stage - 1), c.dim(stage), 3, 2, 1, true);
    y = nn.batchNorm(y, p + ".norm", c.dim(stage));
    return nn.pixelAttention(y, p + ".pos", c.dim(stage));
  }

  @Override
  public Operand<TFloat32> attention(Operand<TFloat32> x, String prefix, int stage) {
    return attention.apply(x, prefix, stage);
  }

  /** The shared attention, with the heads interacting in stages where the config says so. */
  private final class HeadInteractionAttention extends SpatialReductionAttention {
    HeadInteractionAttention() {
      super(ResT.this.nn, ResT.this.c.qkvBias());
    }

    @Override
    Weighted weigh(Operand<TFloat32> scores, Operand<TFloat32> v, String prefix, int stage) {
      if (!c.headInteraction(stage)) return super.weigh(scores, v, prefix, stage);
      Operand<TFloat32> attn = headInteraction(scores, prefix, c.heads(stage));
      if (nn.training != null) {
        // The normalised map's rows sum to 0, so attn @ v == attn @ (v - mean over tokens of v); in float32
        // the centred form keeps the rows' rounding residue from being multiplied by v's (large) mean.
        v = nn.tf.math.sub(v, nn.tf.math.mean(v, nn.ints(2), Mean.keepDims(true)));
      }
      return new Weighted(attn, v);
    }
  }

  /** transform_conv (1×1 conv across heads) → softmax → InstanceNorm2d(heads) without affine. */
  private Operand<TFloat32> headInteraction(Operand<TFloat32> attn, String prefix, int heads) {
    ParamSpec spec = ParamSpec.headMix(prefix + ".transform_conv.weight", heads);
    Operand<TFloat32> w = nn.params.add(spec); // [h_in, h_out]
    Operand<TFloat32> b = nn.params.add(ParamSpec.bias(prefix + ".transform_conv.bias", spec, heads));
    Operand<TInt32> shape = nn.tf.shape(attn);
    Operand<TFloat32> flat = nn.reshapeKeepBatch(attn, nn.dims(attn, 0, 1), heads, -1); // [B, h, N·M]
    Operand<TFloat32> wt = nn.tf.reshape(w, nn.ints(1, heads, heads));
    Operand<TFloat32> mixed = nn.matmul(wt, flat, true, false); // [B, h_out, N·M]
    mixed = nn.tf.math.add(mixed, nn.tf.reshape(b, nn.ints(heads, 1)));
    Operand<TInt32> axes;
    Operand<TFloat32> centered;
    if (nn.training == null) {
      Operand<TFloat32> a = nn.tf.nn.softmax(nn.tf.reshape(mixed, shape));
      axes = nn.ints(2, 3);
      Operand<TFloat32> mean = nn.tf.math.mean(a, axes, Mean.keepDims(true));
      centered = nn.tf.math.sub(a, mean);
    } else {
      centered = centredSoftmax(nn.tf.reshape(mixed, shape));
      axes = nn.ints(2, 3);
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
    Operand<TFloat32> max = nn.tf.stopGradient(nn.tf.max(z, last, org.tensorflow.op.core.Max.keepDims(true)));
    Operand<TFloat32> u = nn.tf.math.expm1(nn.tf.math.sub(z, max));
    Operand<TFloat32> sum = nn.tf.math.add(nn.tf.sum(u, last, org.tensorflow.op.core.Sum.keepDims(true)),
        nn.tf.dtypes.cast(nn.dims(z, 3, 4), TFloat32.class)); // Σe = Σ(1 + u) = M + Σu
    Operand<TFloat32> dev = nn.tf.math.sub(u, nn.tf.math.mean(u, last, Mean.keepDims(true)));
    return nn.tf.math.div(dev, sum);
  }
}
