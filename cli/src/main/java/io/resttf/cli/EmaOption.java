package io.resttf.cli;

import picocli.CommandLine.Option;

/** {@code --ema}, shared by the verbs that read a checkpoint (a picocli mixin). */
final class EmaOption {
  @Option(names = "--ema", description = "take the EMA weights (model_ema) of a PyTorch training checkpoint instead of the model's")
  boolean ema;

  boolean get() {
    return ema;
  }
}
