package io.resttf.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
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
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.TInt32;

/** The gradient check and the Java gradients, against central finite differences in float64. */
@Tag("parity")
class GradientSupportTest {
  static final int B = 4, K = 6;

  @Test
  void hasGradientSeesTheNativeRegistry() {
    assertTrue(GradientSupport.hasGradient("MatMul"));
    assertTrue(GradientSupport.hasGradient("Conv2D"));
    assertFalse(GradientSupport.hasGradient("MulNoNan"), "an op with no gradient anywhere");
  }

  @Test
  void sparseSoftmaxCrossEntropyGradientMatchesFiniteDifferences() {
    SplittableRandom rng = new SplittableRandom(7);
    double[] logits = new double[B * K];
    for (int i = 0; i < logits.length; i++) logits[i] = 3 * (rng.nextDouble() - 0.5);
    int[] labels = {0, 5, 2, 2};
    double[] weights = {0.3, -1.2, 2.0, 0.7}; // per-sample weights make dLoss differ between samples

    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Placeholder<TFloat64> x = tf.placeholder(TFloat64.class, Placeholder.shape(Shape.of(B, K)));
      Operand<TInt32> y = tf.constant(labels);
      Operand<TFloat64> perSample = tf.nn.sparseSoftmaxCrossEntropyWithLogits(x, y).loss();
      Operand<TFloat64> loss = tf.sum(tf.math.mul(perSample, tf.constant(weights)), tf.constant(0));

      GradientSupport.Report report = GradientSupport.ensureGradients(loss, List.of(x));
      assertTrue(report.opTypes().contains("SparseSoftmaxCrossEntropyWithLogits"), report.toString());
      assertTrue(GradientSupport.hasGradient("SparseSoftmaxCrossEntropyWithLogits"), "registered from Java");
      Output<?>[] grad = g.addGradients(loss.asOutput(), new Output<?>[] {x.asOutput()});

      double[] analytic = run(s, x, grad[0], logits);
      double h = 1e-5;
      for (int i = 0; i < logits.length; i++) {
        double[] plus = logits.clone(), minus = logits.clone();
        plus[i] += h;
        minus[i] -= h;
        double fd = (run(s, x, loss.asOutput(), plus)[0] - run(s, x, loss.asOutput(), minus)[0]) / (2 * h);
        assertEquals(fd, analytic[i], 1e-8, "d loss / d logits[" + i + "]");
      }
    }
  }

  /**
   * Dropout masks come from StatelessRandomUniform, which has no C++ gradient but sits on a path from
   * the input to the loss (through the input's shape): with the Java "not differentiable" gradient the
   * graph differentiates, and d loss / dx is the mask / keep, as finite differences show.
   */
  @Test
  void dropoutThroughStatelessRandomUniformMatchesFiniteDifferences() {
    int n = 40;
    double keep = 0.6;
    double[] x0 = new double[n];
    SplittableRandom rng = new SplittableRandom(9);
    for (int i = 0; i < n; i++) x0[i] = rng.nextDouble() - 0.5;
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Placeholder<TFloat64> x = tf.placeholder(TFloat64.class, Placeholder.shape(Shape.of(n)));
      Operand<TFloat64> u = tf.random.statelessRandomUniform(tf.shape(x), tf.constant(new long[] {4, 2}), TFloat64.class);
      Operand<TFloat64> mask = tf.math.floor(tf.math.add(u, tf.constant(keep)));
      Operand<TFloat64> y = tf.math.mul(tf.math.div(x, tf.constant(keep)), mask);
      Operand<TFloat64> loss = tf.sum(tf.math.square(y), tf.constant(0));
      GradientSupport.Report r = GradientSupport.ensureGradients(loss, List.of(x));
      assertTrue(r.opTypes().contains("StatelessRandomUniform"), r.toString());
      assertTrue(GradientSupport.hasGradient("StatelessRandomUniform"));
      Output<?>[] grad = g.addGradients(loss.asOutput(), new Output<?>[] {x.asOutput()});
      double[] analytic = runVec(s, x, grad[0], x0, n);
      double[] m = runVec(s, x, mask.asOutput(), x0, n);
      int dropped = 0;
      for (double v : m) if (v == 0) dropped++;
      assertTrue(dropped > 0 && dropped < n, "the mask drops some entries: " + java.util.Arrays.toString(m));
      double h = 1e-6;
      for (int i = 0; i < n; i++) {
        double[] plus = x0.clone(), minus = x0.clone();
        plus[i] += h;
        minus[i] -= h;
        double fd = (runVec(s, x, loss.asOutput(), plus, n)[0] - runVec(s, x, loss.asOutput(), minus, n)[0]) / (2 * h);
        assertEquals(fd, analytic[i], 1e-7, "d loss / dx[" + i + "]");
      }
    }
  }

  private static double[] runVec(Session s, Placeholder<TFloat64> x, Output<?> out, double[] v, int n) {
    try (TFloat64 t = TFloat64.tensorOf(Shape.of(n), DataBuffers.of(v, true, false));
        Result r = s.runner().feed(x, t).fetch(out).run()) {
      TFloat64 o = (TFloat64) r.get(0);
      double[] d = new double[(int) o.size()];
      o.copyTo(DataBuffers.of(d, false, false));
      return d;
    }
  }

  @Test
  void anOpWithoutAnyGradientIsRefusedByName() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Placeholder<TFloat64> x = tf.placeholder(TFloat64.class, Placeholder.shape(Shape.of(3)));
      Operand<TFloat64> loss = tf.sum(tf.math.mulNoNan(x, tf.constant(new double[] {1, 2, 3})), tf.constant(0));
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> GradientSupport.ensureGradients(loss, List.of(x)));
      assertTrue(e.getMessage().contains("MulNoNan"), e.getMessage());
    }
  }

  @Test
  void opsOffThePathAreNotChecked() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Placeholder<TFloat64> x = tf.placeholder(TFloat64.class, Placeholder.shape(Shape.of(3)));
      // a constant factor computed by an op without gradient does not lie between x and the loss
      Operand<TFloat64> factor = tf.math.mulNoNan(tf.constant(new double[] {1, 2, 3}), tf.constant(2.0));
      Operand<TFloat64> loss = tf.sum(tf.math.mul(x, factor), tf.constant(0));
      GradientSupport.Report r = GradientSupport.ensureGradients(loss, List.of(x));
      assertFalse(r.opTypes().contains("MulNoNan"), r.toString());
      assertTrue(r.opTypes().contains("Mul"), r.toString());
    }
  }

  private static double[] run(Session s, Placeholder<TFloat64> x, Output<?> out, double[] v) {
    try (TFloat64 t = TFloat64.tensorOf(Shape.of(B, K), DataBuffers.of(v, true, false));
        Result r = s.runner().feed(x, t).fetch(out).run()) {
      TFloat64 o = (TFloat64) r.get(0);
      double[] d = new double[(int) o.size()];
      o.copyTo(DataBuffers.of(d, false, false));
      return d;
    }
  }
}
