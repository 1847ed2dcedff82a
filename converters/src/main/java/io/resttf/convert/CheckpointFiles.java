package io.resttf.convert;

import io.resttf.convert.tensorfile.Safetensors;
import io.resttf.convert.torch.TorchCheckpoint;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import io.resttf.tensor.ReadProgress;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;

/**
 * Reads weights from any supported checkpoint file, recognised by content rather than by name: a zip
 * ({@code PK}) or legacy-pickle torch file ({@link TorchCheckpoint}), or a .safetensors file (8-byte header
 * length, then a JSON header starting with '{').
 */
public final class CheckpointFiles {
  private CheckpointFiles() {}

  /**
   * A state_dict with where it came from.
   *
   * @param format  e.g. "torch zip (torch >= 1.6)", "torch legacy (torch < 1.6)", "safetensors"
   * @param wrapper how the state_dict was found in a torch file ("plain state_dict", "['model']", ...)
   */
  public record LoadedWeights(LinkedHashMap<String, HostTensor> stateDict, String format, String wrapper) {}

  /** What a file's first bytes say it is. */
  public enum Kind { TORCH_ZIP, TORCH_LEGACY, NUMPY_PICKLE, SAFETENSORS, UNKNOWN }

  /**
   * Reads {@code file}; {@code ema} asks for the EMA weights of a torch training checkpoint; {@code progress}
   * may be null.
   *
   * @throws BadInputException for a missing, unknown, malformed or unsafe file (one line)
   */
  public static LoadedWeights read(Path file, boolean ema, ReadProgress progress) {
    Kind kind = detect(file);
    switch (kind) {
      case TORCH_ZIP:
      case TORCH_LEGACY: {
        TorchCheckpoint c = TorchCheckpoint.read(file, ema, progress);
        return new LoadedWeights(c.stateDict(), c.format(), c.wrapper());
      }
      case NUMPY_PICKLE: {
        if (ema) {
          throw new BadInputException(file + ": EMA weights were asked for, but a pickle of numpy arrays holds a single"
              + " state_dict");
        }
        io.resttf.convert.pickle.NumpyPickle.Contents c = io.resttf.convert.pickle.NumpyPickle.read(file);
        if (progress != null) {
          long size = sizeOf(file);
          progress.bytesRead(size, size);
        }
        return new LoadedWeights(c.stateDict(), "pickle of numpy arrays (protocol " + c.protocol() + ", detectron2 .pkl)",
            c.wrapper());
      }
      case SAFETENSORS: {
        if (ema) {
          throw new BadInputException(file + ": EMA weights were asked for, but a .safetensors file holds a single"
              + " state_dict");
        }
        LinkedHashMap<String, HostTensor> sd = Safetensors.read(file);
        if (progress != null) {
          long size = sizeOf(file);
          progress.bytesRead(size, size);
        }
        return new LoadedWeights(sd, "safetensors", "plain state_dict");
      }
      default:
        throw new BadInputException(file + ": not a .pth (zip or legacy torch), .pkl (pickle of numpy arrays) or .safetensors file");
    }
  }

  /** Recognises the format from the first bytes of {@code file}. */
  public static Kind detect(Path file) {
    if (Files.isDirectory(file)) {
      throw new BadInputException(file + ": is a directory, not a checkpoint file");
    }
    byte[] head;
    try (InputStream in = Files.newInputStream(file)) {
      head = in.readNBytes(9);
    } catch (NoSuchFileException e) {
      throw new BadInputException(file + ": no such file");
    } catch (IOException e) {
      throw new BadInputException(file + ": cannot read (" + io.resttf.util.ErrorText.reason(e) + ")", e);
    }
    if (head.length >= 4 && head[0] == 'P' && head[1] == 'K' && (head[2] == 3 || head[2] == 5)
        && (head[3] == 4 || head[3] == 6)) {
      return Kind.TORCH_ZIP;
    }
    if (io.resttf.convert.pickle.NumpyPickle.looksLikePickle(head)) {
      return Kind.NUMPY_PICKLE; // a plain pickle (detectron2 .pkl); legacy torch files start with their magic number
    }
    if (TorchCheckpoint.looksLegacy(head)) {
      return Kind.TORCH_LEGACY; // the legacy format's magic-number pickle
    }
    if (head.length == 9 && head[8] == '{') {
      long n = 0;
      for (int i = 7; i >= 0; i--) {
        n = (n << 8) | (head[i] & 0xff);
      }
      if (n > 1 && n <= sizeOf(file) - 8) {
        return Kind.SAFETENSORS;
      }
    }
    return Kind.UNKNOWN;
  }

  private static long sizeOf(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      throw new BadInputException(file + ": cannot read (" + io.resttf.util.ErrorText.reason(e) + ")", e);
    }
  }
}
