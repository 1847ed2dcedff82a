package io.resttf.training;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Gradient clipping by global norm as {@code torch.nn.utils.clip_grad_norm_} computes it (tensorflow-framework
 * 1.0.0 has none). Input: the gradients. Outputs: their global L2 norm before clipping, and the coefficient
 * {@code min(1, maxNorm / (norm + 1e-6))} every gradient is multiplied by ({@link #clip}); 1 when
 * {@code maxNorm ≤ 0} (no clipping, the norm is still reported).
 */
final class ClipByGlobalNorm {
  /** torch.nn.utils.clip_grad_norm_ adds this to the norm before dividing. */
  static final double EPS = 1e-6;

  private final Ops tf;
  private final Operand<TFloat32> globalNorm;
  private final Operand<TFloat32> coefficient;

  private ClipByGlobalNorm(Ops tf, Operand<TFloat32> globalNorm, Operand<TFloat32> coefficient) {
    this.tf = tf;
    this.globalNorm = globalNorm;
    this.coefficient = coefficient;
  }

  /** Builds the norm (named {@code grad_norm} in {@code tf}'s scope) and the coefficient. */
  static ClipByGlobalNorm create(Ops tf, Collection<Operand<TFloat32>> gradients, double maxNorm) {
    List<Operand<TFloat32>> squares = new ArrayList<>();
    for (Operand<TFloat32> g : gradients) squares.add(tf.sum(tf.math.square(g), allAxes(tf, g)));
    Operand<TFloat32> norm = tf.withName("grad_norm").math.sqrt(tf.math.addN(squares));
    Operand<TFloat32> coef = maxNorm > 0
        ? tf.math.minimum(tf.constant(1f),
            tf.math.div(tf.constant((float) maxNorm), tf.math.add(norm, tf.constant((float) EPS))))
        : tf.constant(1f);
    return new ClipByGlobalNorm(tf, norm, coef);
  }

  /** The global norm of the gradients, before clipping. */
  Operand<TFloat32> globalNorm() {
    return globalNorm;
  }

  /** A gradient, clipped: {@code g · coefficient}. */
  Operand<TFloat32> clip(Operand<TFloat32> gradient) {
    return tf.math.mul(gradient, coefficient);
  }

  private static Operand<TInt32> allAxes(Ops tf, Operand<TFloat32> x) {
    int rank = x.shape().numDimensions();
    if (rank < 0) throw new IllegalStateException("gradient of unknown rank");
    int[] axes = new int[rank];
    for (int i = 0; i < rank; i++) axes[i] = i;
    return tf.constant(axes);
  }
}
