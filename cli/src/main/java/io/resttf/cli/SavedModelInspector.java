package io.resttf.cli;

import io.resttf.tensor.BadInputException;
import java.io.PrintWriter;
import java.nio.file.Path;

/** {@code inspect DIR}: SavedModel directories (tags, signatures) — comes with the SavedModel layer. */
final class SavedModelInspector {
  private SavedModelInspector() {}

  static int inspect(Path dir, PrintWriter out) {
    throw new BadInputException(dir + ": is a directory; inspect takes a .pth or .safetensors file");
  }
}
