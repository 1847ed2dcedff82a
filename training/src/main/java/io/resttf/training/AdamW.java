package io.resttf.training;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.Operation;
import org.tensorflow.Output;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.train.ApplyAdam;
import org.tensorflow.types.TFloat32;

/**
 * AdamW as {@code torch.optim.AdamW} computes it: decoupled weight decay {@code p·(1 − lr·wd)}, bias
 * corrections, ε outside the square root. tensorflow-framework 1.0.0 has no AdamW, and its Adam puts ε
 * inside the bias correction (TF's ε̂), which gives other numbers than PyTorch.
 *
 * <p>The moments and the parameter are updated by TF's fused {@code ApplyAdam} kernel, one pass over each
 * parameter instead of a dozen element-wise ops: it computes {@code p −= α · m / (√v + ε̂)} with
 * {@code α = lr · √(1 − β2^t) / (1 − β1^t)} from the beta powers it is fed. Fed beta powers of 0, α is the
 * rate itself, so both bias corrections are done in double on the host ({@link TrainingGraph.StepScalars});
 * with {@code ε̂ = ε · √(1 − β2^t)} the update is PyTorch's {@code (lr / bc1) · m / (√v / √bc2 + ε)}.
 * The decay is a multiply-assign before it.
 *
 * <p>Input: a float32 vector of the per-step scalars [β1, lr · √(1 − β2^t) / (1 − β1^t), √(1 − β2^t),
 * 1 − lr·wd, lr·wd], an op every update waits for (the end of the backward pass: the parameters are
 * updated in place, and no gradient may read an updated one), and per parameter its variable and
 * (clipped) gradient ({@link #apply}). Output: the parameter's new value; the updates ({@link #updates});
 * the slots' zeroing ({@link #slotInits}); the slot variables by checkpoint name {@code optimizer/m/KEY},
 * {@code optimizer/v/KEY} ({@link #slots}).
 */
final class AdamW {
  private final Ops opt;
  private final Ops updateOps;
  private final Ops mScope;
  private final Ops vScope;
  private final Operand<TFloat32> beta1, rate, bc2Sqrt, decayFactor, lrTimesDecay;
  private final Operand<TFloat32> beta2, epsHat, zero;
  private final Map<String, Variable<TFloat32>> slots = new LinkedHashMap<>();
  private final List<Op> updates = new ArrayList<>();
  private final List<Op> slotInits = new ArrayList<>();

  private AdamW(Ops opt, Operand<TFloat32> scalars, double beta2, double eps, Operation backwardDone) {
    this.opt = opt;
    this.updateOps = opt.withControlDependencyOps(backwardDone);
    this.mScope = opt.withSubScope("m");
    this.vScope = opt.withSubScope("v");
    List<Output<TFloat32>> s = opt.unstack(scalars, (long) TrainingGraph.StepScalars.SIZE).output();
    beta1 = s.get(0);
    rate = s.get(1);
    bc2Sqrt = s.get(2);
    decayFactor = s.get(3);
    lrTimesDecay = s.get(4);
    this.beta2 = opt.constant((float) beta2);
    this.epsHat = opt.math.mul(opt.constant((float) eps), bc2Sqrt);
    this.zero = opt.constant(0f);
  }

  /**
   * An optimizer in {@code opt}'s scope, fed its step scalars through {@code scalars} [5]; its updates run
   * after {@code backwardDone}.
   */
  static AdamW create(Ops opt, Operand<TFloat32> scalars, double beta2, double eps, Operation backwardDone) {
    return new AdamW(opt, scalars, beta2, eps, backwardDone);
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

    Operand<TFloat32> step = rate, factor = decayFactor;
    if (lrScale != 1.0) {
      Operand<TFloat32> s = opt.constant((float) lrScale);
      step = opt.math.mul(rate, s);
      factor = opt.math.sub(opt.constant(1f), opt.math.mul(lrTimesDecay, s));
    }
    // the decayed parameter is the assignment's output (a reference), so the Adam kernel updates it after the decay
    Operand<TFloat32> target = decay ? updateOps.assign(param, opt.math.mul(param, factor)) : param;
    ApplyAdam<TFloat32> update = updateOps.train.applyAdam(target, m, v, zero, zero, step, beta1, beta2, epsHat, gradient);
    updates.add(update);
    return update;
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
