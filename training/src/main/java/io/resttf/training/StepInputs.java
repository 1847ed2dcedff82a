package io.resttf.training;

import io.resttf.training.augment.Mixup;
import io.resttf.training.augment.RandomErasing;
import io.resttf.model.RestConfig;
import io.resttf.model.RestNetwork;
import io.resttf.training.data.Dataset;
import io.resttf.training.data.ImagePipeline;
import io.resttf.training.data.Prefetcher;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What one training step is fed: the augmented images of its batch (loaded on worker threads) and the
 * per-step inputs of the graph — soft targets for label smoothing, drop-path keep masks, the dropout
 * seed. Every random choice is a function of (seed, epoch, step, sample) ({@link Seeds}), so a step's
 * inputs do not depend on the number of threads or on where a run was resumed.
 */
final class StepInputs {
  private final TrainOptions options;
  private final RestConfig config;
  private final Dataset train;
  private final ImagePipeline pipe;
  private final double dropPath;
  private final double[] dropPathRates;

  StepInputs(TrainOptions options, RestConfig config, DataSpec.Data data, double dropPath) {
    this.options = options;
    this.config = config;
    this.train = data.train();
    this.pipe = data.pipeline();
    this.dropPath = dropPath;
    this.dropPathRates = RestNetwork.dropPathRates(config, dropPath);
    this.mixup = new Mixup(options.mixup, options.cutmix, options.mixupProb, options.mixupSwitchProb);
    this.erasing = new RandomErasing(options.reprob);
    this.randAugment = options.randAugment(pipe.meanFill());
  }

  private final io.resttf.training.augment.RandAugment randAugment;

  private final Mixup mixup;
  private final RandomErasing erasing;

  /** The drop-path rate in use: the options', else the config's. */
  static double dropPath(TrainOptions o, RestConfig c) {
    return o.dropPath != null ? o.dropPath : c.dropPathRate();
  }

  int stepsPerEpoch() {
    return stepsPerEpoch(train.size(), options);
  }

  /** Full batches an epoch of {@code n} training images takes under {@code options}. */
  static int stepsPerEpoch(int n, TrainOptions options) {
    return samplesPerEpoch(n, options.augRepeats) / options.batch;
  }

  /** Images an epoch draws: all n, or with repeated augmentation timm's ⌊n / 256⌋ · 256 (n below 256). */
  static int samplesPerEpoch(int n, int augRepeats) {
    if (augRepeats == 0 || n < REPEAT_ROUND) return n;
    return n / REPEAT_ROUND * REPEAT_ROUND;
  }

  /** timm's RepeatAugSampler selected_round. */
  static final int REPEAT_ROUND = 256;

  /**
   * The dataset indices epoch {@code epoch} visits, in order: a seeded shuffle, or with repeated augmentation
   * (timm's RepeatAugSampler, one process) each index of the shuffle {@code augRepeats} times in a row, cut to
   * {@link #samplesPerEpoch}. The copies of an image sit at different batch positions, so each gets its own
   * augmentation draws.
   */
  static int[] epochOrder(int n, int augRepeats, long seed, int epoch) {
    int[] perm = Seeds.permutation(n, Seeds.rng(seed, Seeds.Stream.ORDER, epoch, 0));
    if (augRepeats == 0) return perm;
    int[] order = new int[samplesPerEpoch(n, augRepeats)];
    for (int i = 0; i < order.length; i++) order[i] = perm[i / augRepeats];
    return order;
  }

  /** Loads the batches of {@code epoch} from step {@code fromStep} on, ahead of the training thread. */
  Prefetcher<PixelBatch> epoch(int epoch, int fromStep, int workers, int prefetch) {
    int b = options.batch;
    int[] order = epochOrder(train.size(), options.augRepeats, options.seed, epoch);
    boolean rrc = TrainOptions.RRC_FLIP.equals(options.augment);
    boolean flip = rrc || TrainOptions.FLIP.equals(options.augment);
    boolean batchFlip = TrainOptions.BATCH_FLIP.equals(options.augment);
    int sample = pipe.sampleSize();
    return new Prefetcher<>(j -> {
      float[] px = new float[b * sample];
      int[] labels = new int[b];
      List<String> errors = new ArrayList<>();
      int n = 0;
      for (int p = 0; p < b; p++) {
        int idx = order[j * b + p];
        try {
          io.resttf.training.data.Image img = train.image(idx);
          SplittableRandom rng = Seeds.rng(options.seed, Seeds.Stream.AUGMENT, epoch, (long) j * b + p);
          pipe.train(img, rng, rrc, options.rrcMinScale, flip, randAugment,
              Seeds.rng(options.seed, Seeds.Stream.RAND_AUGMENT, epoch, (long) j * b + p), px, n * sample);
          if (erasing.enabled()) {
            // its own stream: runs without erasing draw what they always drew
            erasing.apply(px, n * sample, pipe.inputSize(), pipe.inputSize(), config.inChans(),
                Seeds.rng(options.seed, Seeds.Stream.ERASE, epoch, (long) j * b + p));
          }
          labels[n++] = train.label(idx);
        } catch (Dataset.DecodeException ex) {
          errors.add(ex.getMessage());
        }
      }
      if (batchFlip && Seeds.rng(options.seed, Seeds.Stream.BATCH_FLIP, epoch, j).nextDouble() < 0.5) {
        for (int i = 0; i < n; i++) pipe.flipInPlace(px, i * sample);
      }
      return new PixelBatch(px, labels, n, errors);
    }, fromStep, stepsPerEpoch(), workers, prefetch);
  }

  /** The graph's inputs for global step {@code step} (counted from 0) of {@code epoch}. */
  TrainingGraph.Batch batch(PixelBatch b, int epoch, long step) {
    int n = b.n(), k = config.numClasses(), side = pipe.inputSize(), c = config.inChans();
    float[] px = b.decodedPixels(pipe.sampleSize());
    int[] labels = b.decodedLabels();
    float[] targets;
    if (options.mixing()) {
      Mixup.Applied m = mixup.apply(px, n, side, side, c, Seeds.rng(options.seed, Seeds.Stream.MIXUP, epoch, step));
      targets = Mixup.targets(labels, n, k, options.labelSmoothing, m.lambda());
    } else {
      targets = smoothedTargets(labels, k);
    }
    return new TrainingGraph.Batch(new long[] {n, side, side, c}, px, labels, targets,
        dropPathMasks(n, epoch, step), dropoutSeed(epoch, step));
  }

  /** timm's label smoothing: 1 − ε + ε/K on the true class, ε/K elsewhere; null without smoothing. */
  private float[] smoothedTargets(int[] labels, int k) {
    if (options.labelSmoothing <= 0) return null;
    int n = labels.length;
    float[] targets = new float[n * k];
    float off = (float) (options.labelSmoothing / k);
    float on = (float) (1 - options.labelSmoothing + options.labelSmoothing / k);
    Arrays.fill(targets, off);
    for (int i = 0; i < n; i++) targets[i * k + labels[i]] = on;
    return targets;
  }

  /** Keep masks [2 · blocks, n] (attention and MLP branch of each block), scaled by 1 / keep; null without drop path. */
  private float[] dropPathMasks(int n, int epoch, long step) {
    if (dropPath <= 0) return null;
    int blocks = dropPathRates.length;
    float[] masks = new float[2 * blocks * n];
    SplittableRandom rng = Seeds.rng(options.seed, Seeds.Stream.DROP_PATH, epoch, step);
    for (int blk = 0; blk < blocks; blk++) {
      double p = dropPathRates[blk];
      float kept = (float) (1.0 / (1.0 - p));
      for (int row = 2 * blk; row <= 2 * blk + 1; row++) {
        for (int i = 0; i < n; i++) {
          // timm: floor(keep_prob + U[0,1)) → kept with probability keep_prob
          masks[row * n + i] = p == 0 ? 1f : (rng.nextDouble() < 1 - p ? kept : 0f);
        }
      }
    }
    return masks;
  }

  /** The stateless dropout seed of a step; null without dropout. */
  private long[] dropoutSeed(int epoch, long step) {
    if (options.dropout <= 0 && options.attnDropout <= 0) return null;
    return new long[] {Seeds.value(options.seed, Seeds.Stream.DROPOUT, epoch, step), step};
  }
}
