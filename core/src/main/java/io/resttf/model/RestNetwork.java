package io.resttf.model;

import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;

/**
 * A ResT / ResTv2 network added to a graph: input NHWC float32 of any batch size and any H, W that
 * are multiples of 32 → logits and the four stage feature maps (strides 4, 8, 16, 32; each stage's
 * last block output, before the final norm), so the network also serves as a dense-prediction
 * backbone. Variables are created uninitialised; {@link RestModel} fills them.
 */
public final class RestNetwork {
  private final RestConfig config;
  private final Params params;
  private final Operand<TFloat32> input;
  private final List<Operand<TFloat32>> stages;
  private final Operand<TFloat32> pooled;
  private final Operand<TFloat32> logits;

  private RestNetwork(RestConfig config, Params params, Operand<TFloat32> input,
      List<Operand<TFloat32>> stages, Operand<TFloat32> pooled, Operand<TFloat32> logits) {
    this.config = config;
    this.params = params;
    this.input = input;
    this.stages = stages;
    this.pooled = pooled;
    this.logits = logits;
  }

  /** Builds the network on {@code input} ([B,H,W,in_chans] float32) in {@code tf}'s scope. */
  public static RestNetwork build(Ops tf, RestConfig config, Operand<TFloat32> input) {
    config.validate();
    Params params = new Params(tf, config);
    Nn nn = new Nn(tf, params, config);
    Architecture arch = Architecture.of(nn);

    Operand<TFloat32>[] stageOut = forwardFeatures(nn, arch, input);
    int last = RestConfig.NUM_STAGES - 1;
    Operand<TFloat32> x = nn.layerNorm(stageOut[last], "norm", config.dim(last));
    Operand<TFloat32> pooled = tf.math.mean(x, nn.ints(1, 2), Mean.keepDims(false));
    Operand<TFloat32> logits = null;
    if (config.numClasses() > 0) {
      logits = nn.linear(pooled, "head", config.dim(last), config.numClasses(), true);
    }
    return new RestNetwork(config, params, input, List.of(stageOut), pooled, logits);
  }

  @SuppressWarnings("unchecked")
  private static Operand<TFloat32>[] forwardFeatures(Nn nn, Architecture arch, Operand<TFloat32> input) {
    RestConfig c = nn.config;
    Operand<TFloat32>[] out = new Operand[RestConfig.NUM_STAGES];
    Operand<TFloat32> x = arch.stem(input);
    for (int s = 0; s < RestConfig.NUM_STAGES; s++) {
      if (s > 0) x = arch.patchEmbed(x, s);
      for (int i = 0; i < c.depth(s); i++) {
        x = block(nn, arch, x, "stage" + (s + 1) + "." + i, s);
      }
      out[s] = nn.tf.identity(x);
    }
    return out;
  }

  /** Pre-norm transformer block: x + attn(LN(x)), then x + mlp(LN(x)). */
  private static Operand<TFloat32> block(Nn nn, Architecture arch, Operand<TFloat32> x, String prefix, int stage) {
    int dim = nn.config.dim(stage);
    Operand<TFloat32> a = arch.attention(nn.layerNorm(x, prefix + ".norm1", dim), prefix + ".attn", stage);
    x = nn.tf.math.add(x, a);
    Operand<TFloat32> m = nn.mlp(nn.layerNorm(x, prefix + ".norm2", dim), prefix + ".mlp", dim, nn.config.mlpHidden(stage));
    return nn.tf.math.add(x, m);
  }

  public RestConfig config() {
    return config;
  }

  public Params params() {
    return params;
  }

  public Operand<TFloat32> input() {
    return input;
  }

  /** Output of stage {@code i} (0..3), NHWC. */
  public Operand<TFloat32> stage(int i) {
    return stages.get(i);
  }

  /** Final-norm, globally pooled features [B, dims[3]]. */
  public Operand<TFloat32> pooled() {
    return pooled;
  }

  /** Logits [B, num_classes]; null when num_classes is 0. */
  public Operand<TFloat32> logits() {
    return logits;
  }
}
