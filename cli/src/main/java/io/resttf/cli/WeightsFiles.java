package io.resttf.cli;

import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.model.ModelLocation;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.ReadProgress;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/** Reads a weights file (official state_dict keys and layouts) for the verbs that take {@code --weights}. */
public final class WeightsFiles {
  private WeightsFiles() {}

  /**
   * The state_dict in {@code file}: a PyTorch checkpoint (.pth, zip or legacy format, with or without a
   * {'model': ...}-style wrapper) or a .safetensors file. A file named *.safetensors is read as one (so a
   * damaged one gets the safetensors reader's exact diagnosis); anything else is recognised by content.
   *
   * @param ema take the checkpoint's EMA weights ({@code model_ema}) instead of the model's; only
   *     PyTorch training checkpoints have them
   * @throws BadInputException if the file is missing, malformed or of an unsupported kind
   */
  public static Map<String, HostTensor> read(Path file, boolean ema) {
    if (file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".safetensors")) {
      ModelLocation.require(file, ModelLocation.Kind.CHECKPOINT_FILE);
      if (ema) {
        throw new BadInputException(file + ": EMA weights were asked for (--ema), but a .safetensors file holds"
            + " a single state_dict");
      }
      return Safetensors.read(file);
    }
    return readWithProgress(file, ema).stateDict();
  }

  /** Reads any supported checkpoint with a progress bar (bytes, rate) on stderr. */
  public static CheckpointFiles.LoadedWeights readWithProgress(Path file, boolean ema) {
    return reading(file, progress -> CheckpointFiles.read(file, ema, progress));
  }

  /**
   * Runs {@code read} on checkpoint file {@code file} with a progress bar, after the model locator has
   * checked that it is one (a directory gets a one-line error saying what it is instead).
   */
  public static <T> T reading(Path file, Function<ReadProgress, T> read) {
    ModelLocation.require(file, ModelLocation.Kind.CHECKPOINT_FILE);
    return ProgressBar.reading(file, read);
  }
}
