package io.resttf.cli;

import io.resttf.convert.CheckpointFiles;
import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

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
      if (!Files.exists(file)) throw new BadInputException(file + ": no such file");
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
    ProgressBar bar = ProgressBar.bytes("reading " + file.getFileName());
    long[] last = {0, 0};
    CheckpointFiles.LoadedWeights w = CheckpointFiles.read(file, ema, (done, total) -> {
      last[0] = done;
      last[1] = total;
      bar.update(done, total);
    });
    bar.finish(last[0], last[1]);
    return w;
  }
}
