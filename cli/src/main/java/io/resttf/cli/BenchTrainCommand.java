package io.resttf.cli;

import io.resttf.model.ResourceEstimate;
import io.resttf.model.RestConfig;
import io.resttf.model.RestNetwork;
import io.resttf.tensor.BadInputException;
import io.resttf.training.TrainingGraph;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rest-tf bench-train}: the time of one training step, as bench/pytorch/bench.py times the official
 * step: forward in training mode (BatchNorm on batch statistics, drop path 0.05), cross-entropy with label
 * smoothing 0.1, backward, clipping by global norm 1.0 and AdamW (weight decay 0.05), on a few fixed random
 * batches (the values do not change the cost), data loading excluded. {@code --precision bf16} runs the same
 * step under oneDNN's bfloat16 auto-mixed-precision rewriter (variables, the master weights, stay float32).
 */
@Command(
    name = "bench-train",
    mixinStandardHelpOptions = true,
    description = {
      "Times training steps (forward, loss, backward, clip, AdamW) on random batches, data loading excluded,"
          + " as bench/pytorch/bench.py times the official PyTorch step.",
      "Prints seconds per step (median, p90, min) and images/s; --profile N: time per executed op type of N traced steps."
    })
final class BenchTrainCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @ArgGroup(exclusive = true, multiplicity = "1")
  ModelOptions model;

  @Option(names = "--batch", paramLabel = "N", defaultValue = "128", description = "batch size (default: ${DEFAULT-VALUE})")
  int batch;

  @Option(names = "--size", paramLabel = "S", defaultValue = "64",
      description = "input height and width, a multiple of 32 (default: ${DEFAULT-VALUE})")
  int size;

  @Option(names = "--steps", paramLabel = "N", defaultValue = "20", description = "timed steps (default: ${DEFAULT-VALUE})")
  int steps;

  @Option(names = "--warmup", paramLabel = "N", defaultValue = "3", description = "untimed steps first (default: ${DEFAULT-VALUE})")
  int warmup;

  @Option(names = "--drop-path", paramLabel = "R", defaultValue = "0.05",
      description = "stochastic depth rate (default: ${DEFAULT-VALUE}, the Fashion recipe's)")
  double dropPath;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "seed (default: ${DEFAULT-VALUE})")
  long seed;

  @Mixin PrecisionOption precision;

  @Option(names = "--profile", paramLabel = "N", defaultValue = "0",
      description = "after timing, trace N more steps and print the time per executed op type and the slowest nodes")
  int profile;

  @Override
  public Integer call() {
    if (batch < 1) throw new BadInputException("--batch must be >= 1, got " + batch);
    if (size < RestConfig.STRIDE || size % RestConfig.STRIDE != 0 || size > ResourceEstimate.MAX_SIDE) {
      throw new BadInputException("--size must be a multiple of 32 from 32 to " + ResourceEstimate.MAX_SIDE + ", got " + size);
    }
    if (steps < 1) throw new BadInputException("--steps must be >= 1, got " + steps);
    if (warmup < 0) throw new BadInputException("--warmup must be >= 0, got " + warmup);
    if (profile < 0) throw new BadInputException("--profile must be >= 0, got " + profile);
    if (!(dropPath >= 0 && dropPath < 1)) throw new BadInputException("--drop-path must be in [0, 1), got " + dropPath);
    RestConfig config = model.resolve();
    if (config.numClasses() < 1) throw new BadInputException(model.describe() + ": a training step needs a head (num_classes >= 1)");
    // the random batches are Java arrays: they must fit one array and the heap, as well as the step in memory
    ResourceEstimate.require("--batch " + batch + " --size " + size, config, batch, size, size, true)
        .requireInputOnHeap("--batch " + batch + " --size " + size);
    PrintWriter out = spec.commandLine().getOut();

    TrainingGraph.Spec ts = TrainingGraph.Spec.of(config).withDropPath(dropPath);
    long t0 = System.nanoTime();
    try (TrainingGraph g = TrainingGraph.build(ts, precision.get().sessionConfig(null))) {
      g.initFresh(seed);
      long t1 = System.nanoTime();
      SplittableRandom rng = new SplittableRandom(seed);
      TrainingGraph.Batch[] batches = new TrainingGraph.Batch[4];
      for (int i = 0; i < batches.length; i++) batches[i] = randomBatch(config, rng);
      double[] s = new double[steps];
      float loss = Float.NaN;
      for (int i = 0; i < warmup + steps; i++) {
        long a = System.nanoTime();
        loss = g.step(batches[i % batches.length], scalars(i + 1)).loss();
        if (i >= warmup) s[i - warmup] = (System.nanoTime() - a) / 1e9;
      }
      double[] sorted = s.clone();
      Arrays.sort(sorted);
      double median = Percentiles.of(sorted, 50);
      out.printf(Locale.ROOT, "model:       %s (%s), %d classes%n", model.describe(), config.family().id(), config.numClasses());
      out.printf(Locale.ROOT, "step:        batch %d, %dx%d, drop path %.2f, label smoothing 0.1, clip 1.0, AdamW, precision %s%n",
          batch, size, size, dropPath, precision.get().id());
      out.printf(Locale.ROOT, "graph build: %.1f ms%n", (t1 - t0) / 1e6);
      out.printf(Locale.ROOT, "runs:        %d warm-up, %d timed (last loss %.4f)%n", warmup, steps, loss);
      out.printf(Locale.ROOT, "time/step:   median %.3f s, p90 %.3f s, min %.3f s%n", median,
          Percentiles.of(sorted, 90), sorted[0]);
      out.printf(Locale.ROOT, "throughput:  %.1f images/s%n", batch / median);
      if (profile > 0) {
        OpProfile p = new OpProfile();
        for (int i = 0; i < profile; i++) {
          g.step(batches[i % batches.length], scalars(warmup + steps + i + 1), r -> {
            p.add(r);
            return null;
          });
        }
        p.print(out, profile);
      }
    }
    return Main.OK;
  }

  /** AdamW's scalars for step {@code t} (1-based): lr 2e-3, betas 0.9 / 0.999, weight decay 0.05. */
  private static TrainingGraph.StepScalars scalars(int t) {
    return new TrainingGraph.StepScalars(2e-3, 0.9, 0.999, t, 0.05);
  }

  /** Random pixels, labels, label-smoothed targets (0.1) and drop-path masks as the trainer draws them. */
  private TrainingGraph.Batch randomBatch(RestConfig config, SplittableRandom rng) {
    int c = config.inChans(), k = config.numClasses();
    float[] pixels = new float[batch * size * size * c];
    for (int i = 0; i < pixels.length; i++) pixels[i] = (float) (rng.nextDouble() * 2 - 1);
    int[] labels = new int[batch];
    float[] targets = new float[batch * k];
    for (int i = 0; i < batch; i++) {
      labels[i] = rng.nextInt(k);
      for (int j = 0; j < k; j++) targets[i * k + j] = (float) (0.1 / k);
      targets[i * k + labels[i]] += 0.9f;
    }
    float[] masks = null;
    if (dropPath > 0) {
      double[] rates = RestNetwork.dropPathRates(config, dropPath);
      int n = RestNetwork.numDropPathMasks(config);
      masks = new float[n * batch];
      for (int m = 0; m < n; m++) {
        double keep = 1 - rates[m / 2];
        for (int i = 0; i < batch; i++) masks[m * batch + i] = rng.nextDouble() < keep ? (float) (1 / keep) : 0f;
      }
    }
    return new TrainingGraph.Batch(new long[] {batch, size, size, c}, pixels, labels, targets, masks, null);
  }
}
