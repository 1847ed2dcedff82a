package io.resttf.cli;

import io.resttf.training.TrainOptions;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The options of {@code train} that change a run's numbers (a picocli mixin): picocli writes each one the
 * user gives straight into a {@link TrainOptions}, so every other field stays null — the recipe's, or the
 * resumed run's, value.
 */
final class TrainOptionsMixin {
  // picocli lists options of setter methods in no fixed order: "order" (train lists by it) keeps --help as it was
  private final TrainOptions given = new TrainOptions();

  /** What the user gave (the same object each call; null fields were not given). */
  TrainOptions given() {
    return given;
  }

  @Option(names = "--epochs", order = 6, paramLabel = "E", description = "epochs to train")
  void epochs(Integer v) { given.epochs = v; }
  @Option(names = "--batch", order = 7, paramLabel = "B", description = "images per step (the last partial batch of an epoch is dropped)")
  void batch(Integer v) { given.batch = v; }
  @Option(names = "--recipe", order = 10, paramLabel = "paper|finetune|finetune-384|fashion|FILE.json", description = "the defaults of every option below (see the end)")
  void recipe(String v) { given.recipe = v; }
  @Option(names = "--lr", order = 11, paramLabel = "LR", description = "peak learning rate")
  void lr(Double v) { given.lr = v; }
  @Option(names = "--schedule", order = 12, paramLabel = "cosine|onecycle|constant", description = "learning-rate schedule")
  void schedule(String v) { given.schedule = v; }
  @Option(names = "--warmup-epochs", order = 13, paramLabel = "E", description = "cosine: linear warm-up epochs (default min(5, epochs/10))")
  void warmupEpochs(Double v) { given.warmupEpochs = v; }
  @Option(names = "--min-lr", order = 14, paramLabel = "LR", description = "cosine: final learning rate (default 1e-6)")
  void minLr(Double v) { given.minLr = v; }
  @Option(names = "--pct-start", order = 15, paramLabel = "F", description = "one-cycle: fraction of steps rising (default 0.1)")
  void pctStart(Double v) { given.pctStart = v; }
  @Option(names = "--div-factor", order = 16, paramLabel = "F", description = "one-cycle: start at lr / F (default 25)")
  void divFactor(Double v) { given.divFactor = v; }
  @Option(names = "--final-div-factor", order = 17, paramLabel = "F", description = "one-cycle: end at start / F (default 1e4)")
  void finalDivFactor(Double v) { given.finalDivFactor = v; }
  @Option(names = "--weight-decay", order = 18, paramLabel = "WD", description = "AdamW decoupled weight decay (default 0.05)")
  void weightDecay(Double v) { given.weightDecay = v; }
  @Option(names = "--decay-all", order = 19, negatable = true, description = "weight decay on biases and norms too")
  void decayAll(Boolean v) { given.decayAll = v; }
  @Option(names = "--beta1", order = 20, paramLabel = "B")
  void beta1(Double v) { given.beta1 = v; }
  @Option(names = "--beta2", order = 21, paramLabel = "B")
  void beta2(Double v) { given.beta2 = v; }
  @Option(names = "--eps", order = 22, paramLabel = "E")
  void eps(Double v) { given.eps = v; }
  @Option(names = "--clip-norm", order = 23, paramLabel = "N", description = "clip gradients to this global norm (0 = off)")
  void clipNorm(Double v) { given.clipNorm = v; }
  @Option(names = "--label-smoothing", order = 24, paramLabel = "E", description = "default 0.1; 0 = hard labels")
  void labelSmoothing(Double v) { given.labelSmoothing = v; }
  @Option(names = "--drop-path", order = 25, paramLabel = "P", description = "stochastic depth rate (default: the config's)")
  void dropPath(Double v) { given.dropPath = v; }
  @Option(names = "--dropout", order = 26, paramLabel = "P", description = "dropout after MLP activation, fc2, attention projection (default 0)")
  void dropout(Double v) { given.dropout = v; }
  @Option(names = "--attn-dropout", order = 27, paramLabel = "P", description = "dropout on attention maps (default 0)")
  void attnDropout(Double v) { given.attnDropout = v; }
  @Option(names = "--ema", order = 28, negatable = true, description = "keep an EMA of the weights")
  void ema(Boolean v) { given.ema = v; }
  @Option(names = "--ema-decay", order = 29, paramLabel = "D", description = "default 0.9999")
  void emaDecay(Double v) { given.emaDecay = v; }
  @Option(names = "--freeze", order = 30, paramLabel = "PARTS", split = ",", description = "do not train: stem, stage1..stage4, norm, head")
  void freeze(List<String> v) { given.freeze = v; }
  @Option(names = "--fresh-head", order = 31, negatable = true, description = "a new head even when the class count is unchanged")
  void freshHead(Boolean v) { given.freshHead = v; }
  @Option(names = "--seed", order = 32, paramLabel = "N", description = "every random choice follows it (default 0)")
  void seed(Long v) { given.seed = v; }
  @Option(names = "--augment", order = 33, paramLabel = "rrc-flip|flip|batch-flip|none", description = "training augmentation")
  void augment(String v) { given.augment = v; }
  @Option(names = "--rrc-min-scale", order = 34, paramLabel = "F", description = "smallest random-resized-crop area (default 0.08)")
  void rrcMinScale(Double v) { given.rrcMinScale = v; }
  @Option(names = "--aa", order = 34, paramLabel = "SPEC", description = "RandAugment, timm's string (default none; official rand-m9-mstd0.5-inc1)")
  void aa(String v) { given.aa = v; }
  @Option(names = "--mixup", order = 34, paramLabel = "ALPHA", description = "Mixup's Beta(alpha, alpha), timm's batch mode (default 0: off; official 0.8)")
  void mixup(Double v) { given.mixup = v; }
  @Option(names = "--cutmix", order = 34, paramLabel = "ALPHA", description = "CutMix's Beta(alpha, alpha) (default 0: off; official 1.0)")
  void cutmix(Double v) { given.cutmix = v; }
  @Option(names = "--mixup-prob", order = 34, paramLabel = "P", description = "probability that a batch is mixed (default 1.0)")
  void mixupProb(Double v) { given.mixupProb = v; }
  @Option(names = "--mixup-switch-prob", order = 34, paramLabel = "P", description = "CutMix rather than Mixup when both are on (default 0.5)")
  void mixupSwitchProb(Double v) { given.mixupSwitchProb = v; }
  @Option(names = "--reprob", order = 34, paramLabel = "P", description = "random erasing per image, pixel mode (default 0: off; official 0.25)")
  void reprob(Double v) { given.reprob = v; }
  @Option(names = "--aug-repeats", order = 34, paramLabel = "N",
      description = "repeated augmentation: each image N times in a row per epoch, each copy augmented anew (timm / DeiT; default 0: off; DeiT 3)")
  void augRepeats(Integer v) { given.augRepeats = v; }
  @Option(names = "--layer-decay", order = 34, paramLabel = "D", description = "layer-wise lr decay: lr x D^(L - layer), official layer ids (default 1: off)")
  void layerDecay(Double v) { given.layerDecay = v; }
  @Option(names = "--export", order = 35, paramLabel = "auto|best|last|ema", description = "weights of the final SavedModel")
  void export(String v) { given.export = v; }
  @Option(names = "--checkpoint-every", order = 36, paramLabel = "N",
      description = "also checkpoint every N steps within an epoch, so a killed run loses at most N steps (default 0: at epoch ends only)")
  void checkpointEvery(Integer v) { given.checkpointEvery = v; }
  @Option(names = "--keep-checkpoints", order = 37, paramLabel = "K", description = "step checkpoints kept, the newest (default 1)")
  void keepCheckpoints(Integer v) { given.keepCheckpoints = v; }
}
