package io.resttf.training;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * AdamW as {@code torch.optim.AdamW} computes it: decoupled weight decay {@code p·(1 − lr·wd)}, bias
 * corrections, ε outside the square root. tensorflow-framework 1.0.0 has no AdamW, and its Adam puts ε
 * inside the bias correction (TF's ε̂), which gives other numbers than PyTorch.
 *
 * <p>Input: a float32 vector of the per-step scalars [β1, 1 − β1, lr / (1 − β1^t), √(1 − β2^t),
 * 1 − lr·wd, lr·wd] ({@link TrainingGraph.StepScalars}, computed in double on the host as PyTorch does), and per
 * parameter its variable and (clipped) gradient ({@link #apply}). Output: the parameter's new value; the
 * assignments of it and of its slots ({@link #updates}); the slots' zeroing ({@link #slotInits}); the slot
 * variables by checkpoint name {@code optimizer/m/KEY}, {@code optimizer/v/KEY} ({@link #slots}).
 */
final class AdamW {
  private final Ops opt;
  private final Ops mScope;
  private final Ops vScope;
  private final Operand<TFloat32> beta1, oneMinusBeta1, stepSize, bc2Sqrt, decayFactor, lrTimesDecay;
  private final Operand<TFloat32> beta2, oneMinusBeta2, eps, zero;
  private final Map<String, Variable<TFloat32>> slots = new LinkedHashMap<>();
  private final List<Op> updates = new ArrayList<>();
  private final List<Op> slotInits = new ArrayList<>();

  private AdamW(Ops opt, Operand<TFloat32> scalars, double beta2, double eps) {
    this.opt = opt;
    this.mScope = opt.withSubScope("m");
    this.vScope = opt.withSubScope("v");
    List<Output<TFloat32>> s = opt.unstack(scalars, (long) TrainingGraph.StepScalars.SIZE).output();
    beta1 = s.get(0);
    oneMinusBeta1 = s.get(1);
    stepSize = s.get(2);
    bc2Sqrt = s.get(3);
    decayFactor = s.get(4);
    lrTimesDecay = s.get(5);
    this.beta2 = opt.constant((float) beta2);
    this.oneMinusBeta2 = opt.constant((float) (1 - beta2));
    this.eps = opt.constant((float) eps);
    this.zero = opt.constant(0f);
  }

  /** An optimizer in {@code opt}'s scope, fed its step scalars through {@code scalars} [5]. */
  static AdamW create(Ops opt, Operand<TFloat32> scalars, double beta2, double eps) {
    return new AdamW(opt, scalars, beta2, eps);
  }

  /**
   * Adds the update of one parameter (official key {@code key}, TF shape {@code shape}) from its gradient;
   * {@code decay}: whether weight decay applies to it. Returns the parameter's new value.
   */
  Operand<TFloat32> apply(String key, Variable<TFloat32> param, long[] shape, Operand<TFloat32> gradient, boolean decay) {
    return apply(key, param, shape, gradient, decay, 1.0);
  }

  /**
   * As {@link #apply(String, Variable, long[], Operand, boolean)} with the learning rate scaled by {@code lrScale} (a
   * parameter group's {@code lr_scale}: step size × s, decay factor 1 − s · lr · wd); at 1 the graph is the unscaled one.
   */
  Operand<TFloat32> apply(String key, Variable<TFloat32> param, long[] shape, Operand<TFloat32> gradient, boolean decay, double lrScale) {
    Variable<TFloat32> m = mScope.withName(key).variable(Shape.of(shape), TFloat32.class);
    Variable<TFloat32> v = vScope.withName(key).variable(Shape.of(shape), TFloat32.class);
    slots.put("optimizer/m/" + key, m);
    slots.put("optimizer/v/" + key, v);
    // fill, not zeros(): Ops.zeros opens a sub-scope, which scans the whole graph every time
    Operand<TFloat32> zeros = opt.fill(opt.constant(shape), zero);
    slotInits.add(opt.assign(m, zeros));
    slotInits.add(opt.assign(v, zeros));

    Operand<TFloat32> g = gradient;
    Operand<TFloat32> mNew = opt.math.add(opt.math.mul(m, beta1), opt.math.mul(g, oneMinusBeta1));
    Operand<TFloat32> vNew = opt.math.add(opt.math.mul(v, beta2), opt.math.mul(opt.math.mul(g, g), oneMinusBeta2));
    Operand<TFloat32> denom = opt.math.add(opt.math.div(opt.math.sqrt(vNew), bc2Sqrt), eps);
    Operand<TFloat32> step = stepSize, factor = decayFactor;
    if (lrScale != 1.0) {
      Operand<TFloat32> s = opt.constant((float) lrScale);
      step = opt.math.mul(stepSize, s);
      factor = opt.math.sub(opt.constant(1f), opt.math.mul(lrTimesDecay, s));
    }
    Operand<TFloat32> decayed = decay ? opt.math.mul(param, factor) : param;
    Operand<TFloat32> pNew = opt.math.sub(decayed, opt.math.mul(step, opt.math.div(mNew, denom)));
    updates.add(opt.assign(m, mNew));
    updates.add(opt.assign(v, vNew));
    updates.add(opt.assign(param, pNew));
    return pNew;
  }

  /** The assignments of a step: slots and parameters. */
  List<Op> updates() {
    return updates;
  }

  /** Zeroes every slot (after weights are loaded). */
  List<Op> slotInits() {
    return slotInits;
  }

  /** Slot variables by checkpoint name, in the order the parameters were added (m before v). */
  Map<String, Variable<TFloat32>> slots() {
    return slots;
  }
}
