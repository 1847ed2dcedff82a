package io.resttf.training;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * An exponential moving average of the weights as timm's ModelEma keeps it: after each step,
 * {@code ema = ema · decay + (1 − decay) · new value}. Input: per official key, the variable and the
 * value it is assigned in this step (so the average follows the step's result in the same
 * {@code session.run}). Output: the EMA variables by official key, their start at the current weights
 * ({@link #inits}) and their per-step updates ({@link #updates}).
 */
final class Ema {
  private final Map<String, Variable<TFloat32>> variables = new LinkedHashMap<>();
  private final List<Op> inits = new ArrayList<>();
  private final List<Op> updates = new ArrayList<>();

  private Ema() {}

  /** No average: no variables, nothing to run. */
  static Ema none() {
    return new Ema();
  }

  /**
   * @param tf        the scope the averages live in
   * @param current   variable of each official key to average
   * @param newValues the value each is assigned this step, by official key
   */
  static Ema create(Ops tf, double decay, Map<String, Variable<TFloat32>> current, Map<String, Operand<TFloat32>> newValues) {
    Ema e = new Ema();
    Operand<TFloat32> d = tf.constant((float) decay);
    Operand<TFloat32> oneMinusD = tf.constant((float) (1 - decay));
    for (Map.Entry<String, Operand<TFloat32>> n : newValues.entrySet()) {
      Variable<TFloat32> model = current.get(n.getKey());
      Variable<TFloat32> ema = tf.withName(n.getKey()).variable(Shape.of(model.shape().asArray()), TFloat32.class);
      e.variables.put(n.getKey(), ema);
      e.inits.add(tf.assign(ema, model));
      e.updates.add(tf.assign(ema, tf.math.add(tf.math.mul(ema, d), tf.math.mul(n.getValue(), oneMinusD))));
    }
    return e;
  }

  /** The averages by official key (the keys trained or updated in a step). */
  Map<String, Variable<TFloat32>> variables() {
    return variables;
  }

  List<Op> inits() {
    return inits;
  }

  List<Op> updates() {
    return updates;
  }
}
