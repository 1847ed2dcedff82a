package io.resttf.cli;

import io.resttf.util.ImageHeader;
import picocli.CommandLine.Option;

/**
 * {@code --max-pixels N}, shared by the verbs that read images (a picocli mixin): an image whose header
 * declares more than N pixels (width × height) is refused before it is decoded.
 */
final class MaxPixelsOption {
  @Option(names = "--max-pixels", paramLabel = "N",
      description = "refuse images larger than N pixels (width × height, read from the header before decoding;"
          + " default 40000000, for classify the export's own limit)")
  Long maxPixels;

  /** The limit given, or {@code fallback}. */
  long orElse(long fallback) {
    return maxPixels == null ? fallback : ImageHeader.requireValidLimit(maxPixels);
  }

  boolean given() {
    return maxPixels != null;
  }
}
