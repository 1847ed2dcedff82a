package io.resttf.training;

/**
 * Learning rate (and Adam β1) per optimisation step, numbered from 0. Computed in Java and fed to the
 * graph each step, so any schedule works and a resumed run continues it exactly.
 */
public interface LrSchedule {
  /** The learning rate of update number {@code step} (0-based). */
  double lr(long step);

  /** Adam's β1 at {@code step} (constant unless the schedule cycles momentum). */
  double beta1(long step);

  /**
   * The papers' schedule, as ConvNeXt's / ResTv2's {@code utils.cosine_scheduler} computes it per
   * iteration: {@code np.linspace(0, base, warmup)} for the warm-up iterations, then
   * {@code final + (base − final)/2 · (1 + cos(π·i/n))} over the remaining {@code n} iterations.
   */
  static LrSchedule cosine(double base, double finalLr, long totalSteps, long warmupSteps, double beta1) {
    long w = Math.max(0, Math.min(warmupSteps, totalSteps));
    long n = totalSteps - w;
    return new LrSchedule() {
      @Override
      public double lr(long step) {
        if (step < w) return w == 1 ? 0.0 : base * step / (double) (w - 1);
        long i = step - w;
        if (n <= 0) return finalLr;
        return finalLr + 0.5 * (base - finalLr) * (1 + Math.cos(Math.PI * i / n));
      }

      @Override
      public double beta1(long step) {
        return beta1;
      }
    };
  }

  /**
   * {@code torch.optim.lr_scheduler.OneCycleLR} (two phases, cosine annealing), stepped per batch:
   * from max_lr/div_factor up to max_lr over {@code pct_start} of the steps, then down to
   * initial/final_div_factor; with {@code cycleMomentum}, β1 goes the opposite way between
   * {@code maxMomentum} and {@code baseMomentum}.
   */
  static LrSchedule oneCycle(double maxLr, long totalSteps, double pctStart, double divFactor, double finalDivFactor,
      boolean cycleMomentum, double baseMomentum, double maxMomentum, double beta1) {
    double initial = maxLr / divFactor;
    double min = initial / finalDivFactor;
    double end1 = pctStart * totalSteps - 1; // float(pct_start * total_steps) - 1
    double end2 = totalSteps - 1;
    return new LrSchedule() {
      private double phase(long step, double a1, double b1, double a2, double b2) {
        // the first phase that contains the step, else the last (as torch does); a phase of zero length
        // (torch divides by zero there) is at its end
        if (step <= end1) return anneal(a1, b1, end1 > 0 ? step / end1 : 1.0);
        return anneal(a2, b2, end2 > end1 ? (step - end1) / (end2 - end1) : 1.0);
      }

      @Override
      public double lr(long step) {
        return phase(step, initial, maxLr, maxLr, min);
      }

      @Override
      public double beta1(long step) {
        return cycleMomentum ? phase(step, maxMomentum, baseMomentum, baseMomentum, maxMomentum) : beta1;
      }
    };
  }

  /** A constant learning rate. */
  static LrSchedule constant(double lr, double beta1) {
    return new LrSchedule() {
      @Override
      public double lr(long step) {
        return lr;
      }

      @Override
      public double beta1(long step) {
        return beta1;
      }
    };
  }

  /** torch's _annealing_cos: end + (start − end)/2 · (cos(π·pct) + 1). */
  private static double anneal(double start, double end, double pct) {
    return end + (start - end) / 2.0 * (Math.cos(Math.PI * pct) + 1);
  }
}
