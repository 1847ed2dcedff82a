package io.resttf.cli;

import io.resttf.convert.tensorfile.Npy;
import io.resttf.serving.NonFiniteWeights;
import java.util.LinkedHashMap;
import java.util.Map;
import io.resttf.tensor.BadInputException;
import io.resttf.tensor.HostTensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes result tensors as .npy files into one output directory and reports each on {@code out}. */
final class Outputs {
  /** {@code --out DIR}, the output directory of the verbs that write result tensors (a picocli mixin). */
  static final class DirOption {
    @picocli.CommandLine.Option(names = "--out", required = true, paramLabel = "DIR",
        description = "output directory (created if missing): NAME.npy per output")
    Path dir;

    /** Fails early when the directory cannot be an output directory. */
    void check() {
      Outputs.check(dir);
    }

    /** Creates the directory when missing. */
    Outputs open(PrintWriter out) {
      return Outputs.into(dir, out);
    }
  }

  private final Path dir;
  private final PrintWriter out;
  /** Outputs written that hold NaN or infinite values, and how many. */
  private final Map<String, Long> nonFinite = new LinkedHashMap<>();

  private Outputs(Path dir, PrintWriter out) {
    this.dir = dir;
    this.out = out;
  }

  /** Fails early when {@code dir} cannot be an output directory (it exists and is not a directory). */
  static void check(Path dir) {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new BadInputException(dir + ": exists and is not a directory");
    }
  }

  /** Creates {@code dir} (and its parents) when missing. */
  static Outputs into(Path dir, PrintWriter out) {
    check(dir);
    try {
      Files.createDirectories(dir);
    } catch (FileAlreadyExistsException e) {
      throw new BadInputException(dir + ": exists and is not a directory");
    } catch (IOException e) {
      throw new BadInputException(dir + ": cannot create the output directory (" + io.resttf.util.ErrorText.reason(e) + ")");
    }
    return new Outputs(dir, out);
  }

  /** Writes {@code DIR/<name>.npy} and prints "name.npy  [shape]". */
  Path write(String name, HostTensor t) {
    Path file = dir.resolve(name + ".npy");
    Npy.write(file, t);
    long bad = NonFiniteWeights.count(t);
    if (bad > 0) nonFinite.put(name, bad);
    out.printf("%-12s %s%n", name + ".npy", t.shapeString());
    return file;
  }

  /**
   * One warning line on {@code err} when an output written holds NaN or infinite values (the weights or
   * the input hold some, or the model overflowed); nothing otherwise.
   */
  void warnNonFinite(PrintWriter err) {
    if (nonFinite.isEmpty()) return;
    err.println("rest-tf: warning: outputs hold NaN or infinite values: " + NonFiniteWeights.describe(nonFinite)
        + " (non-finite weights or input?)");
    err.flush();
  }

  Path dir() {
    return dir;
  }
}
