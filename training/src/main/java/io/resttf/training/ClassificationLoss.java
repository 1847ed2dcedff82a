package io.resttf.training;

import org.tensorflow.Operand;
import org.tensorflow.framework.op.FrameworkOps;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Mean softmax cross-entropy of logits [B, K] against soft targets [B, K] (label smoothing; the targets
 * are fed, computed on the host as timm computes them, see {@link StepInputs}) or integer labels [B].
 * The per-sample loss is tensorflow-framework's {@code nn.softmaxCrossEntropyWithLogits} /
 * {@code sparseSoftmaxCrossEntropyWithLogits} (TF's fused kernels); its {@code CategoricalCrossentropy}
 * loss class is not used because it smooths in float32 in-graph and reduces as sum / batch size, which
 * gives other last bits than the reference. Input: the logits; the target placeholder is made here (in
 * {@code in}'s scope). Output: the placeholder and the scalar loss (named {@code loss} in {@code tf}'s scope).
 */
final class ClassificationLoss {
  private final Placeholder<TFloat32> targets;
  private final Placeholder<TInt32> labels;
  private final Operand<TFloat32> loss;

  private ClassificationLoss(Placeholder<TFloat32> targets, Placeholder<TInt32> labels, Operand<TFloat32> loss) {
    this.targets = targets;
    this.labels = labels;
    this.loss = loss;
  }

  static ClassificationLoss create(Ops tf, Ops in, Operand<TFloat32> logits, int classes, boolean softTargets) {
    FrameworkOps fw = FrameworkOps.create(tf);
    if (softTargets) {
      Placeholder<TFloat32> t = in.withName("targets").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, classes)));
      return new ClassificationLoss(t, null, mean(tf, fw.nn.softmaxCrossEntropyWithLogits(t, logits, -1)));
    }
    Placeholder<TInt32> l = in.withName("labels").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1)));
    return new ClassificationLoss(null, l, mean(tf, fw.nn.sparseSoftmaxCrossEntropyWithLogits(l, logits)));
  }

  private static Operand<TFloat32> mean(Ops tf, Operand<TFloat32> perSample) {
    return tf.withName("loss").math.mean(perSample, tf.constant(0));
  }

  /** Soft targets [B, K]; null when the loss takes labels. */
  Placeholder<TFloat32> targets() {
    return targets;
  }

  /** Integer labels [B]; null when the loss takes soft targets. */
  Placeholder<TInt32> labels() {
    return labels;
  }

  Operand<TFloat32> loss() {
    return loss;
  }
}
