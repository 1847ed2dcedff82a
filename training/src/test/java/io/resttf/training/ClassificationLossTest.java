package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The loss built from tensorflow-framework's cross-entropy ops gives the same bits (loss and gradient)
 * as TF's raw SoftmaxCrossEntropyWithLogits / SparseSoftmaxCrossEntropyWithLogits kernels and a mean,
 * which the loss was before: adopting the framework changed no number.
 */
class ClassificationLossTest {
  private static final int B = 7, K = 5;

  @Test
  void frameworkOpsGiveTheRawKernelsBits() {
    SplittableRandom rng = new SplittableRandom(3);
    float[] logits = new float[B * K];
    for (int i = 0; i < logits.length; i++) logits[i] = (float) (rng.nextGaussian() * 3);
    int[] labels = new int[B];
    float[] targets = new float[B * K];
    for (int i = 0; i < B; i++) {
      labels[i] = rng.nextInt(K);
      for (int c = 0; c < K; c++) targets[i * K + c] = c == labels[i] ? 0.92f : 0.02f;
    }
    for (boolean soft : new boolean[] {false, true}) {
      try (Graph g = new Graph()) {
        Ops tf = Ops.create(g);
        Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, K)));
        Operand<TFloat32> y = tf.math.mul(x, tf.constant(1f)); // an op between, as the network's head
        ClassificationLoss ours = ClassificationLoss.create(tf.withSubScope("framework"), tf.withSubScope("in"), y, K, soft);
        Operand<TFloat32> raw = soft
            ? tf.math.mean(tf.nn.softmaxCrossEntropyWithLogits(y, ours.targets()).loss(), tf.constant(0))
            : tf.math.mean(tf.nn.sparseSoftmaxCrossEntropyWithLogits(y, ours.labels()).loss(), tf.constant(0));
        GradientSupport.ensureGradients(ours.loss(), java.util.List.of(x));
        GradientSupport.ensureGradients(raw, java.util.List.of(x));
        Output<?>[] dOurs = g.addGradients("d_ours", new Output<?>[] {ours.loss().asOutput()}, new Output<?>[] {x.asOutput()}, null);
        Output<?>[] dRaw = g.addGradients("d_raw", new Output<?>[] {raw.asOutput()}, new Output<?>[] {x.asOutput()}, null);
        try (Session s = new Session(g);
            TFloat32 xt = TFloat32.tensorOf(Shape.of(B, K), DataBuffers.of(logits, true, false));
            TFloat32 tt = TFloat32.tensorOf(Shape.of(B, K), DataBuffers.of(targets, true, false));
            TInt32 lt = TInt32.tensorOf(Shape.of(B), DataBuffers.of(labels, true, false))) {
          Session.Runner r = s.runner().feed(x, xt);
          r = soft ? r.feed(ours.targets(), tt) : r.feed(ours.labels(), lt);
          try (Result res = r.fetch(ours.loss()).fetch(raw).fetch(dOurs[0]).fetch(dRaw[0]).run()) {
            float lossOurs = ((TFloat32) res.get(0)).getFloat(), lossRaw = ((TFloat32) res.get(1)).getFloat();
            assertEquals(Float.floatToIntBits(lossRaw), Float.floatToIntBits(lossOurs), "loss, soft " + soft);
            assertArrayEquals(floats((TFloat32) res.get(3)), floats((TFloat32) res.get(2)), "gradient, soft " + soft);
          }
        }
      }
    }
  }

  private static float[] floats(TFloat32 t) {
    float[] out = new float[(int) t.size()];
    t.copyTo(DataBuffers.of(out, false, false));
    return out;
  }
}
